/* The webdav source's backup (docs/webdav.md "Incremental backups"): the
 * unit's collection walked depth first with children in name order
 * (collections listed ahead by webdav_lister.c), so entries reach the
 * point writer in tree order as they are found, while the parent point's
 * tree is read alongside: a file whose ETag (or, without one, size and
 * last-modified) equals the parent's entry keeps the parent's extents and
 * is not downloaded; on ownCloud/Nextcloud a collection whose ETag is the
 * parent's is not listed at all. The files to download are fetched
 * `connections` at a time. Stored like a folder point: paths relative to
 * the unit URL, sizes, mtimes from getlastmodified, the DAV properties as
 * user.webdav.* xattrs. */

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/meta.h"
#include "engine/point_writer.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sources/source.h"
#include "sources/webdav.h"
#include "sources/webdav_internal.h"
#include "sources/webdav_lister.h"
#include "sources/webdav_source.h"

/* One downloader: its connection and its stream into the packs. */
struct fetcher {
	struct dav_client *dav;
	struct point_stream *ps;
	uint64_t fetched, bytes_fetched;
};

/* A collection of the parent point that ownCloud or Nextcloud listed: its
 * ETag changes with anything below it. */
struct ctag {
	char *path, *etag;
};

struct wb {
	struct point_writer *pw;
	struct point_stream *ps;
	struct dav_client *dav;
	struct dav_lister *lister;
	struct fetcher fx[DAV_MAX_CONNECTIONS]; /* fx[0] is dav and ps */
	int nfx;                 /* downloaders used */
	struct dav_opts dopts;
	struct tree_reader *parent;
	struct meta_entry *pe; /* the parent's next entry, or NULL */
	struct point_totals t;
	uint64_t changed, reused, skipped;
	const char *url;
	struct ctag *ctags;    /* in tree order; read only once the walk starts */
	size_t nctags, capctags;
	int parent_props;      /* the parent point has dead properties */
	int parent_oc;         /* the parent point has ownCloud's oc:fileid */
	int64_t parent_allprop_s; /* its XA_ALLPROP, 0 if none */
	int64_t allprop_s;     /* the XA_ALLPROP this point records */
};

static void wb_warn(struct wb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wb_warn(struct wb *b, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = log_vformat(fmt, ap);
	va_end(ap);
	point_writer_warn(b->pw, msg);
	free(msg);
}

/* The parent's entry at path, or NULL; entries before it (gone since)
 * are counted as changes. */
static const struct meta_entry *parent_at(struct wb *b, const char *path)
{
	struct error err;
	int c;

	while (b->pe && (c = meta_path_cmp(b->pe->path, path)) < 0) {
		b->changed++;
		error_init(&err);
		if (tree_reader_next(b->parent, &b->pe, &err) != 1) {
			if (err.msg[0])
				log_warn("%s; the rest is read again", err.msg);
			b->pe = NULL;
		}
	}
	if (b->pe && meta_path_cmp(b->pe->path, path) == 0)
		return b->pe;
	return NULL;
}

static void set_attrs(struct meta_entry *e, const struct dav_res *r)
{
	if (r->has_mtime) {
		e->mtime_s = e->atime_s = e->ctime_s = r->mtime_s;
	}
	if (r->etag)
		meta_entry_add_xattr(e, XA_ETAG, r->etag, (uint32_t)strlen(r->etag));
	if (r->ctype && !r->collection)
		meta_entry_add_xattr(e, XA_CTYPE, r->ctype, (uint32_t)strlen(r->ctype));
	if (r->fileid)
		meta_entry_add_xattr(e, XA_FILEID, r->fileid, (uint32_t)strlen(r->fileid));
	if (r->checksums)
		meta_entry_add_xattr(e, XA_CHECKSUMS, r->checksums, (uint32_t)strlen(r->checksums));
	if (r->permissions)
		meta_entry_add_xattr(e, XA_PERMS, r->permissions, (uint32_t)strlen(r->permissions));
	if (r->props)
		meta_entry_add_xattr(e, XA_PROPS, r->props, (uint32_t)strlen(r->props));
}

/* The entry of r, with its properties; a warning if they were too many. */
static void wb_attrs(struct wb *b, struct meta_entry *e, const struct dav_res *r)
{
	set_attrs(e, r);
	if (r->props_dropped)
		wb_warn(b, "/%s: its dead properties pass %u bytes; not kept", r->path,
			DAV_PROPS_MAX_BYTES);
}

/* Whether the ETag now (a) shows the content the parent stored under b.
 * A weak ETag in the parent never does: Apache calls an ETag weak in the
 * second the file was written, when it could still change unseen; the
 * file is downloaded again. A weak one now of the parent's strong value is
 * the same content. */
static int same_etag(const char *a, const char *b)
{
	return !(b[0] == 'W' && b[1] == '/') && dav_etag_same(a, b);
}

/* Whether the parent's entry holds this file's content as it is now.
 * Without an ETag in the listing, size and getlastmodified decide, even
 * when the parent kept the ETag of its GET (nginx lists none but sends
 * one with each GET). */
static int unchanged(const struct meta_entry *pe, const struct dav_res *r)
{
	char *etag;
	int same;

	if (pe == NULL || pe->type != META_FILE || !r->has_size || pe->size != r->size)
		return 0;
	etag = meta_entry_xattr_str(pe, XA_ETAG);
	if (r->etag && etag)
		same = same_etag(r->etag, etag);
	else
		same = r->etag == NULL && r->has_mtime && pe->mtime_s == r->mtime_s;
	free(etag);
	return same;
}

struct fetch {
	struct fetcher *fx;
	struct meta_entry *e;
	uint64_t n;
};

static int on_bytes(void *ctx, const void *data, size_t len, struct error *err)
{
	struct fetch *f = ctx;

	f->n += len;
	return point_stream_write(f->fx->ps, f->e, data, len, err);
}

/* Downloads r into e with fetcher fx: 0, 1 if it is gone (warned), -1. */
static int fetch_file(struct wb *b, struct fetcher *fx, struct dav_res *r, struct meta_entry *e,
		      struct error *err)
{
	struct fetch f = { .fx = fx, .e = e };
	struct dav_head head = { 0 };
	int ret, try;

	for (try = 0;; try++) {
		dav_head_clear(&head);
		ret = dav_get(fx->dav, r->path, try < 2 ? r->etag : NULL, on_bytes, &f, &head, err);
		if (ret < 0 && err->code == ERROR_NOTFOUND) {
			wb_warn(b, "%s was removed while the backup ran; left out", r->path);
			dav_head_clear(&head);
			return 1;
		}
		if (ret < 0) {
			dav_head_clear(&head);
			return -1;
		}
		if (ret == 0)
			break;
		/* The ETag moved since PROPFIND: the file changed. */
		if (try == 1)
			wb_warn(b, "%s changed while it was read (its ETag moved twice); stored as "
				   "read last", r->path);
		if (try == 0) {
			struct dav_list l;
			struct error e2;

			error_init(&e2);
			if (dav_propfind(fx->dav, r->path, 0, 0, &l, &e2) == 0 && l.n >= 1) {
				free(r->etag);
				r->etag = l.res[0].etag;
				l.res[0].etag = NULL;
				r->has_size = l.res[0].has_size;
				r->size = l.res[0].size;
				r->has_mtime = l.res[0].has_mtime;
				r->mtime_s = l.res[0].mtime_s;
			}
			dav_list_clear(&l);
		}
	}
	if (point_stream_end(fx->ps, e, err) < 0) {
		dav_head_clear(&head);
		return -1;
	}
	/* What the GET said wins over the listing: the ETag of the bytes
	 * read (nginx lists none), the Content-Type (not asked in a listing
	 * without dead properties). */
	if (head.etag && (r->etag == NULL || strcmp(head.etag, r->etag) != 0)) {
		free(r->etag);
		r->etag = head.etag;
		head.etag = NULL;
	}
	if (head.ctype && r->ctype == NULL) {
		r->ctype = head.ctype;
		head.ctype = NULL;
	}
	dav_head_clear(&head);
	if (r->has_size && f.n != r->size)
		wb_warn(b, "%s: %" PRIu64 " bytes read, the listing said %" PRIu64, r->path, f.n,
			r->size);
	e->size = f.n;
	fx->fetched++;
	fx->bytes_fetched += f.n;
	return 0;
}

/* A run of files of one collection, between two subcollections: the
 * unchanged ones take the parent's extents, the others are downloaded
 * b->nfx at a time, then all are added in order. */
struct job {
	struct dav_res *r;
	struct meta_entry e;
	int fetch, gone;
};

struct run {
	struct wb *b;
	struct job *jobs;
	size_t n, next;
	pthread_mutex_t lock;
	int failed;
	struct error err;
};

static void *fetch_thread(void *arg)
{
	struct fetcher **pfx = arg;
	struct fetcher *fx = pfx[0];
	struct run *ru = (struct run *)(void *)pfx[1];

	for (;;) {
		struct job *j = NULL;
		struct error err;
		int ret;

		pthread_mutex_lock(&ru->lock);
		while (!ru->failed && ru->next < ru->n && !ru->jobs[ru->next].fetch)
			ru->next++;
		if (!ru->failed && ru->next < ru->n)
			j = &ru->jobs[ru->next++];
		pthread_mutex_unlock(&ru->lock);
		if (j == NULL)
			return NULL;
		error_init(&err);
		ret = fetch_file(ru->b, fx, j->r, &j->e, &err);
		if (ret == 1)
			j->gone = 1;
		if (ret < 0) {
			pthread_mutex_lock(&ru->lock);
			if (!ru->failed)
				ru->err = err;
			ru->failed = 1;
			pthread_mutex_unlock(&ru->lock);
			return NULL;
		}
	}
}

static int run_fetch(struct wb *b, struct run *ru, size_t nfetch, struct error *err)
{
	struct fetcher *args[DAV_MAX_CONNECTIONS][2];
	pthread_t th[DAV_MAX_CONNECTIONS];
	size_t nt = nfetch < (size_t)b->nfx ? nfetch : (size_t)b->nfx, i, started = 0;

	for (i = 1; i < nt; i++)
		if (b->fx[i].dav == NULL && (b->fx[i].dav = dav_open(&b->dopts, err)) == NULL)
			return -1;
	for (i = 0; i < nt; i++) {
		args[i][0] = &b->fx[i];
		args[i][1] = (struct fetcher *)(void *)ru;
		if (i == 0)
			continue;
		if (pthread_create(&th[i], NULL, fetch_thread, args[i]) != 0)
			break;
		started = i;
	}
	fetch_thread(args[0]);
	for (i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	if (ru->failed) {
		*err = ru->err;
		return -1;
	}
	return 0;
}

static int add_run(struct wb *b, struct dav_res *rs, size_t n, struct error *err)
{
	struct run ru = { .b = b };
	size_t i, nfetch = 0;
	int ret = 0;

	ru.jobs = xcalloc(n, sizeof(*ru.jobs));
	ru.n = n;
	for (i = 0; i < n; i++) {
		const struct meta_entry *pe = parent_at(b, rs[i].path);
		struct job *j = &ru.jobs[i];

		j->r = &rs[i];
		j->e.type = META_FILE;
		j->e.mode = 0644;
		j->e.nlink = 1;
		j->e.path = xstrdup(rs[i].path);
		if (unchanged(pe, &rs[i])) {
			for (size_t k = 0; k < pe->nextents; k++)
				meta_entry_add_extent(&j->e, pe->extents[k].id, pe->extents[k].len);
			j->e.size = pe->size;
			/* Listed without getcontenttype: the type it had. */
			if (rs[i].ctype == NULL)
				rs[i].ctype = meta_entry_xattr_str(pe, XA_CTYPE);
			b->reused++;
		} else {
			j->fetch = 1;
			nfetch++;
			b->changed++;
		}
	}
	if (nfetch > 0) {
		pthread_mutex_init(&ru.lock, NULL);
		ret = run_fetch(b, &ru, nfetch, err);
		pthread_mutex_destroy(&ru.lock);
	}
	for (i = 0; ret == 0 && i < n; i++) {
		struct job *j = &ru.jobs[i];

		if (j->gone)
			continue;
		wb_attrs(b, &j->e, j->r);
		b->t.files++;
		b->t.bytes += j->e.size;
		ret = point_writer_add(b->pw, &j->e, err);
	}
	for (i = 0; i < n; i++)
		meta_entry_clear(&ru.jobs[i].e);
	free(ru.jobs);
	if (ret == 0)
		ret = point_writer_checkpoint(b->pw, err);
	return ret;
}

static int res_cmp(const void *x, const void *y)
{
	const struct dav_res *a = x, *b = y;

	return meta_path_cmp(a->path, b->path);
}

static void res_move(struct dav_list *to, struct dav_res *r)
{
	if (to->n == to->cap) {
		to->cap = to->cap ? to->cap * 2 : 16;
		to->res = xrealloc(to->res, xmul(to->cap, sizeof(*to->res)));
	}
	to->res[to->n++] = *r;
	memset(r, 0, sizeof(*r));
}

static int ctag_cmp(const void *x, const void *y)
{
	return meta_path_cmp(((const struct ctag *)x)->path, ((const struct ctag *)y)->path);
}

/* Whether collection r is as the parent point recorded it, on a server
 * whose collection ETags change with any descendant — ownCloud and
 * Nextcloud, told by their oc:fileid (docs/webdav.md "Incremental
 * backups"). Its subtree is then the parent's, and is not listed. */
static int collection_unchanged(const struct wb *b, const struct dav_res *r)
{
	struct ctag key = { .path = r->path }, *t;

	if (!r->collection || r->fileid == NULL || r->etag == NULL || b->nctags == 0 ||
	    (r->etag[0] == 'W' && r->etag[1] == '/'))
		return 0;
	t = bsearch(&key, b->ctags, b->nctags, sizeof(*b->ctags), ctag_cmp);
	return t && strcmp(t->etag, r->etag) == 0;
}

static int want_listed(void *ctx, const struct dav_res *r)
{
	return !collection_unchanged(ctx, r);
}

/* Puts the parent's collection dir and all below it into the point as
 * they were: 0, 1 if the parent has no such collection (then it is
 * walked), -1 and err (a parent that cannot be read fails the backup
 * here: the point would lack the rest of the subtree). */
static int copy_subtree(struct wb *b, const char *dir, struct error *err)
{
	size_t n = strlen(dir);
	const struct meta_entry *pe = parent_at(b, dir);

	if (pe == NULL || pe->type != META_DIR)
		return 1;
	while (b->pe && (strcmp(b->pe->path, dir) == 0 ||
			 (strncmp(b->pe->path, dir, n) == 0 && b->pe->path[n] == '/'))) {
		int r;

		if (b->pe->type == META_FILE) {
			b->t.files++;
			b->t.bytes += b->pe->size;
			b->reused++;
		} else {
			b->t.dirs++;
		}
		if (point_writer_add(b->pw, b->pe, err) < 0)
			return -1;
		r = tree_reader_next(b->parent, &b->pe, err);
		if (r < 0)
			return error_prefix(err, "%s%s: its parent point cannot be read", b->url, dir);
		if (r == 0)
			b->pe = NULL;
	}
	b->skipped++;
	return point_writer_checkpoint(b->pw, err);
}

static int walk(struct wb *b, const char *dir, int depth, struct error *err)
{
	struct dav_list l, kids = { 0 }, self = { 0 };
	struct meta_entry e;
	const struct meta_entry *pe;
	size_t i, k, n;
	int ret = 0;

	if (depth > DAV_MAX_TREE_DEPTH)
		return error_set(err, "%s%s: collections nest deeper than %d", b->url, dir,
				 DAV_MAX_TREE_DEPTH);
	if (dav_lister_get(b->lister, dir, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.res[i].path, dir) == 0) {
			if (self.n == 0)
				res_move(&self, &l.res[i]);
		} else if (!webdav_is_child(dir, l.res[i].path)) {
			wb_warn(b, "PROPFIND of /%s answered /%s, which is not in it; left out", dir,
				l.res[i].path);
		} else {
			res_move(&kids, &l.res[i]);
		}
	}
	dav_list_clear(&l);
	if (kids.n > 1)
		qsort(kids.res, kids.n, sizeof(*kids.res), res_cmp);
	pe = parent_at(b, dir);
	memset(&e, 0, sizeof(e));
	e.type = META_DIR;
	e.mode = 0755;
	e.nlink = 1;
	e.path = xstrdup(dir);
	if (self.n)
		wb_attrs(b, &e, &self.res[0]);
	if (dir[0] == '\0' && b->allprop_s > 0) {
		char t[24];
		int tn = snprintf(t, sizeof(t), "%" PRId64, b->allprop_s);

		meta_entry_add_xattr(&e, XA_ALLPROP, t, (uint32_t)tn);
		if (b->dopts.dead_props)
			meta_entry_add_xattr(&e, XA_PROPS_LISTED, "1", 1);
	}
	if (pe == NULL)
		b->changed++;
	b->t.dirs++;
	ret = point_writer_add(b->pw, &e, err);
	meta_entry_clear(&e);
	dav_list_clear(&self);
	/* A server that lists a name twice: the first is kept. */
	for (i = 1, k = 1; i < kids.n; i++) {
		if (strcmp(kids.res[i].path, kids.res[k - 1].path) == 0)
			continue;
		if (k != i) {
			struct dav_res t = kids.res[k];

			kids.res[k] = kids.res[i];
			kids.res[i] = t;
		}
		k++;
	}
	n = kids.n > 0 ? k : 0;
	for (i = 0; ret == 0 && i < n;) {
		size_t j = i;

		if (kids.res[i].collection) {
			ret = collection_unchanged(b, &kids.res[i])
				      ? copy_subtree(b, kids.res[i].path, err)
				      : 1;
			if (ret == 1)
				ret = walk(b, kids.res[i].path, depth + 1, err);
			i++;
			continue;
		}
		while (j < n && !kids.res[j].collection)
			j++;
		ret = add_run(b, &kids.res[i], j - i, err);
		i = j;
	}
	dav_list_clear(&kids);
	return ret;
}

/* What the parent point tells before the walk: its collections listed
 * with ownCloud's fileid and a strong ETag (none if the parent cannot be
 * read: nothing is skipped then), whether it has dead properties, and
 * when it was last listed with allprop. */
static void read_ctags(struct wb *b, const struct rp *last)
{
	struct tree_reader *tr;
	struct meta_entry *e;
	struct error err;
	int r;

	error_init(&err);
	tr = tree_reader_open(point_writer_unit(b->pw), point_writer_index(b->pw), last, &err);
	while (tr && (r = tree_reader_next(tr, &e, &err)) == 1) {
		char *etag;

		if (meta_entry_xattr(e, XA_PROPS))
			b->parent_props = 1;
		if (meta_entry_xattr(e, XA_FILEID))
			b->parent_oc = 1;
		if (e->path[0] == '\0' && (etag = meta_entry_xattr_str(e, XA_ALLPROP)) != NULL) {
			b->parent_allprop_s = strtoll(etag, NULL, 10);
			free(etag);
		}
		if (e->type != META_DIR || meta_entry_xattr(e, XA_FILEID) == NULL ||
		    (etag = meta_entry_xattr_str(e, XA_ETAG)) == NULL)
			continue;
		if (b->nctags == b->capctags) {
			b->capctags = b->capctags ? b->capctags * 2 : 64;
			b->ctags = xrealloc(b->ctags, xmul(b->capctags, sizeof(*b->ctags)));
		}
		b->ctags[b->nctags].path = xstrdup(e->path);
		b->ctags[b->nctags++].etag = etag;
	}
	if (tr == NULL || err.msg[0]) {
		b->parent_props = 1; /* unknown: list with allprop */
		while (b->nctags > 0) {
			b->nctags--;
			free(b->ctags[b->nctags].path);
			free(b->ctags[b->nctags].etag);
		}
	}
	tree_reader_close(&tr);
}

static void read_parent(struct wb *b)
{
	const struct rp *last = NULL;
	struct error err;
	int ret;

	error_init(&err);
	ret = point_writer_parent(b->pw, &last, &err);
	if (ret == 1)
		read_ctags(b, last);
	if (ret == 1) {
		b->parent = tree_reader_open(point_writer_unit(b->pw), point_writer_index(b->pw),
					     last, &err);
		ret = b->parent ? tree_reader_next(b->parent, &b->pe, &err) : -1;
		if (ret == 0)
			b->pe = NULL;
	}
	if (ret < 0) {
		log_warn("%s; downloading every file again", err.msg);
		tree_reader_close(&b->parent);
		b->pe = NULL;
	}
}

/* Whether this backup lists with allprop, which brings dead properties
 * and makes Apache work out every resource's content type (a sub-request
 * each: 3-4 times the cost of the live properties alone). A unit that had
 * no dead property at its last allprop listing is listed without them
 * for a day: a dead property set where there was none is seen within
 * DAV_ALLPROP_EVERY_S (docs/webdav.md "Incremental backups"). */
static int want_dead_props(const struct wb *b, int64_t now_s)
{
	if (b->parent == NULL || b->parent_props || b->parent_allprop_s <= 0)
		return 1;
	return now_s - b->parent_allprop_s >= DAV_ALLPROP_EVERY_S ||
	       now_s < b->parent_allprop_s;
}

/* What this backup's listings ask for (dopts and b->dopts), by what the
 * parent point holds; the point made at time_ns (0: now). */
static void choose_listing(struct wb *b, struct dav_opts *dopts, int64_t time_ns)
{
	int64_t now_s = time_ns > 0 ? time_ns / 1000000000 : (int64_t)time(NULL);

	dopts->dead_props = want_dead_props(b, now_s);
	dopts->oc_props = b->parent_oc;
	b->allprop_s = dopts->dead_props ? now_s : b->parent_allprop_s;
	b->dopts.dead_props = dopts->dead_props;
	b->dopts.oc_props = dopts->oc_props;
}

int webdav_backup_run(struct store *s, const struct source_backup_opts *o,
		      struct webdav_backup_result *res, struct error *err)
{
	struct point_writer_opts po = { .unit = o->unit, .time_ns = o->time_ns,
					.keep_seconds = o->keep_seconds,
					.retain_seconds = o->retain_seconds, .fence = o->fence };
	struct wb b;
	struct dav_opts dopts;
	struct point_result pr;
	char *url = NULL;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	if (webdav_source_opts(o->source, &dopts, &url, err) < 0)
		return -1;
	dopts.policy = o->netpolicy;
	b.url = url;
	po.source = url;
	b.dav = dav_open(&dopts, err);
	if (b.dav == NULL)
		goto out;
	b.pw = point_writer_open(s, &po, err);
	if (b.pw == NULL || point_writer_begin(b.pw, err) < 0)
		goto out;
	b.ps = point_writer_stream(b.pw);
	b.dopts = dopts;
	b.fx[0].dav = b.dav;
	b.fx[0].ps = b.ps;
	/* Streams are made before any thread uses one; connections as needed. */
	b.nfx = dopts.connections;
	for (int i = 1; i < b.nfx; i++)
		b.fx[i].ps = point_writer_stream(b.pw);
	read_parent(&b);
	choose_listing(&b, &dopts, o->time_ns);
	b.lister = dav_lister_open(&dopts, dopts.connections, want_listed, &b, err);
	ret = b.lister ? walk(&b, "", 0, err) : -1;
	if (ret == 0) {
		/* What is left of the parent is gone now. */
		while (b.pe) {
			struct error e2;

			error_init(&e2);
			b.changed++;
			if (tree_reader_next(b.parent, &b.pe, &e2) != 1)
				b.pe = NULL;
		}
		point_writer_set_totals(b.pw, &b.t);
		ret = point_writer_commit(b.pw, &pr, err);
	}
	if (ret == 0) {
		res->seq = pr.seq;
		res->files = b.t.files;
		res->dirs = b.t.dirs;
		res->bytes = b.t.bytes;
		res->new_bytes = pr.new_bytes;
		res->stored_bytes = pr.stored_bytes;
		res->incompressible_bytes = pr.incompressible_bytes;
		res->nwarnings = pr.nwarnings;
		res->changed = b.changed;
		res->reused = b.reused;
		res->skipped = b.skipped;
		res->requests = dav_lister_requests(b.lister);
		for (int i = 0; i < b.nfx; i++) {
			res->fetched += b.fx[i].fetched;
			res->bytes_fetched += b.fx[i].bytes_fetched;
			if (b.fx[i].dav)
				res->requests += dav_requests(b.fx[i].dav);
		}
	}
out:
	if (ret < 0)
		error_prefix(err, "backup of %s (%s) failed", o->unit, url ? url : "webdav");
	dav_lister_close(&b.lister);
	for (size_t i = 0; i < b.nctags; i++) {
		free(b.ctags[i].path);
		free(b.ctags[i].etag);
	}
	free(b.ctags);
	tree_reader_close(&b.parent);
	point_writer_close(&b.pw);
	for (int i = 1; i < DAV_MAX_CONNECTIONS; i++)
		dav_close(&b.fx[i].dav);
	dav_close(&b.dav);
	free(url);
	return ret;
}
