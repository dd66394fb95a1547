/* The webdav source (docs/webdav.md): a unit is a WebDAV collection,
 *   {"type":"webdav","url":"https://host/remote.php/dav/files/ann/",
 *    "user":"ann","auth":"basic"|"bearer","secret":…,
 *    "caFile":…,"insecure":false,"timeoutSeconds":60}
 * Backup walks it with PROPFIND Depth: 1 per collection, depth first with
 * children in name order, so entries reach the point writer in tree order
 * as they are found, and reads the parent point's tree alongside: a file
 * whose ETag (or, without one, size and last-modified) equals the parent's
 * entry keeps the parent's extents and is not downloaded. Stored like a
 * folder point: paths relative to the unit URL, sizes, mtimes from
 * getlastmodified, the DAV properties as user.webdav.* xattrs. */

#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "engine/meta.h"
#include "engine/point_reader.h"
#include "engine/point_writer.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sources/source.h"
#include "sources/webdav.h"
#include "sources/webdav_lister.h"
#include "sources/webdav_source.h"

#define XA_ETAG "user.webdav.etag"
#define XA_CTYPE "user.webdav.contenttype"
#define XA_FILEID "user.webdav.fileid"
#define XA_CHECKSUMS "user.webdav.checksums"
#define XA_PERMS "user.webdav.permissions"
#define XA_PROPS "user.webdav.props"
/* On the unit's collection: when the tree was last listed with allprop,
 * and whether this point was ("1": an entry without XA_PROPS has none;
 * else it is not known, and a restore leaves the server's alone). */
#define XA_ALLPROP "user.webdav.allprop-time"
#define XA_PROPS_LISTED "user.webdav.props-listed"
/* A unit without dead properties is listed with allprop once a day. */
#define DAV_ALLPROP_EVERY_S 86400
#define DAV_MAX_TREE_DEPTH 200
/* Requests in flight at once, each over a connection of its own: so many
 * collections listed ahead of the walk, files downloaded, files written
 * by a restore (source JSON "connections"). */
#define DAV_CONNECTIONS 4
#define DAV_MAX_CONNECTIONS 16

int webdav_source_opts(const struct json_object *source, struct dav_opts *o, char **url_r,
		       struct error *err)
{
	struct json_object *v;
	const char *s, *url;
	size_t n;

	memset(o, 0, sizeof(*o));
	*url_r = NULL;
	if (source == NULL || !json_object_is_type(source, json_type_object))
		return error_setk(err, ERROR_USAGE, "webdav source: not a JSON object");
	url = jsonu_str(source, "url");
	if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return error_setk(err, ERROR_USAGE,
				  "webdav source: \"url\" (http:// or https://) is missing");
	if (strchr(url, '?') || strchr(url, '#') || strchr(url, '@'))
		return error_setk(err, ERROR_USAGE, "webdav source: url %s has a query, fragment or "
				  "user part", url);
	o->user = jsonu_str(source, "user");
	if ((s = jsonu_str(source, "auth")) == NULL || strcmp(s, "basic") == 0)
		o->auth = DAV_AUTH_BASIC;
	else if (strcmp(s, "bearer") == 0)
		o->auth = DAV_AUTH_BEARER;
	else
		return error_setk(err, ERROR_USAGE,
				  "webdav source: \"auth\" must be \"basic\" or \"bearer\"");
	if (o->auth == DAV_AUTH_BASIC && (o->user == NULL || o->user[0] == '\0'))
		return error_setk(err, ERROR_USAGE, "webdav source: \"user\" (a string) is missing");
	o->secret = jsonu_str(source, "secret");
	if (o->secret == NULL)
		return error_setk(err, ERROR_USAGE, "webdav source: \"secret\" is missing");
	o->ca_file = jsonu_str(source, "caFile");
	if (json_object_object_get_ex(source, "insecure", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_setk(err, ERROR_USAGE,
					  "webdav source: \"insecure\" must be true or false");
		o->insecure = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(source, "timeoutSeconds", &v)) {
		int64_t t = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || t < 1 || t > 3600)
			return error_setk(err, ERROR_USAGE,
					  "webdav source: \"timeoutSeconds\" must be 1..3600");
		o->timeout_s = (long)t;
	}
	o->connections = DAV_CONNECTIONS;
	if (json_object_object_get_ex(source, "connections", &v)) {
		int64_t c = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || c < 1 || c > DAV_MAX_CONNECTIONS)
			return error_setk(err, ERROR_USAGE, "webdav source: \"connections\" must be "
					  "1..%d", DAV_MAX_CONNECTIONS);
		o->connections = (int)c;
	}
	n = strlen(url);
	*url_r = n > 0 && url[n - 1] == '/' ? xstrdup(url) : xasprintf("%s/", url);
	o->url = *url_r;
	return 0;
}


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
	if (b[0] == 'W' && b[1] == '/')
		return 0;
	if (a[0] == 'W' && a[1] == '/')
		a += 2;
	return strcmp(a, b) == 0;
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

/* Whether child lies directly inside the collection at dir. */
static int is_child(const char *dir, const char *child)
{
	size_t n = strlen(dir);

	if (n == 0)
		return child[0] != '\0' && strchr(child, '/') == NULL;
	return strncmp(child, dir, n) == 0 && child[n] == '/' && child[n + 1] != '\0' &&
	       strchr(child + n + 1, '/') == NULL;
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
		} else if (!is_child(dir, l.res[i].path)) {
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
	{
		int64_t now_s = o->time_ns > 0 ? o->time_ns / 1000000000 : (int64_t)time(NULL);

		dopts.dead_props = want_dead_props(&b, now_s);
		b.allprop_s = dopts.dead_props ? now_s : b.parent_allprop_s;
		b.dopts.dead_props = dopts.dead_props;
	}
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

static int webdav_backup(struct store *s, const struct source_backup_opts *o,
			 struct source_backup_result *res, struct error *err)
{
	struct webdav_backup_result r;

	memset(res, 0, sizeof(*res));
	if (webdav_backup_run(s, o, &r, err) < 0)
		return -1;
	res->seq = r.seq;
	res->items = r.files;
	res->bytes = r.bytes;
	res->new_bytes = r.new_bytes;
	res->stored_bytes = r.stored_bytes;
	res->incompressible_bytes = r.incompressible_bytes;
	res->changed_items = r.changed;
	res->nwarnings = r.nwarnings;
	return 0;
}

/* ---- restore ---- */

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
 * queue in order. A collection is made by the walk itself before anything
 * inside it is queued. */
#define WQ_MAX (2 * DAV_MAX_CONNECTIONS)

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
	size_t qhead, qn, busy;
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
		if (!is_child(dir, l.res[i].path))
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
			const char *now = l.res[0].etag;
			const char *bare = now + (now[0] == 'W' && now[1] == '/' ? 2 : 0);

			if (strcmp(bare, lv->etag + 2) != 0) {
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
	else if (lv->etag && now->etag)
		same = strcmp(lv->etag + (lv->etag[0] == 'W' && lv->etag[1] == '/' ? 2 : 0),
			      now->etag + (now->etag[0] == 'W' && now->etag[1] == '/' ? 2 : 0)) == 0;
	else
		same = lv->etag == NULL && now->etag == NULL && now->has_size &&
		       now->size == lv->size && lv->has_mtime && now->has_mtime &&
		       now->mtime_s == lv->mtime_s;
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
		w->busy++;
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
		w->busy--;
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

/* Hands j to the writers (waiting while the queue is full): 0, or -1 and
 * err (j freed) once a writer failed. */
static int writers_queue(struct wr *w, struct wjob *j, struct error *err)
{
	pthread_mutex_lock(&w->lock);
	while (w->qn == WQ_MAX && !w->failed)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->failed) {
		*err = w->err;
		pthread_mutex_unlock(&w->lock);
		wjob_free(j);
		return -1;
	}
	w->queue[(w->qhead + w->qn) % WQ_MAX] = j;
	w->qn++;
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

	if (lv && !lv->collection && lv->etag && etag && lv->size == e->size) {
		const char *a = lv->etag + (lv->etag[0] == 'W' && lv->etag[1] == '/' ? 2 : 0);
		const char *b = etag + (etag[0] == 'W' && etag[1] == '/' ? 2 : 0);

		if (strcmp(a, b) == 0) {
			free(etag);
			return 1; /* the same content is there */
		}
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

static int restore_entries(struct wr *w, struct error *err)
{
	struct tree_reader *tr;
	struct meta_entry *e;
	struct error e2;
	int r;

	tr = tree_reader_open(point_reader_unit(w->pr), point_reader_index(w->pr),
			      point_reader_rp(w->pr), err);
	if (tr == NULL)
		return -1;
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		struct live *lv;
		int ret;

		if (e->path[0] == '\0')
			w->props_listed = meta_entry_xattr(e, XA_PROPS_LISTED) != NULL;
		if (e->path[0] == '\0' && e->type == META_DIR && w->o->npatterns == 0) {
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
 * (412) is kept. */
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
		ret = 1;
		if (!lv->collection) {
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

static int webdav_restore(struct store *s, const struct source_restore_opts *o,
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

/* "<url>.restored-<time>/" beside the unit's collection (made by the
 * restore), credentials as the source's. */
static struct json_object *webdav_new_location(const struct json_object *source,
					       const char *beneath, int64_t now,
					       struct error *err)
{
	struct json_object *out = NULL;
	struct dav_opts o;
	char *url = NULL, *nu;
	size_t n;
	struct tm tm;
	time_t t = (time_t)now; /* Unix seconds */
	char stamp[32];

	(void)beneath;
	if (webdav_source_opts(source, &o, &url, err) < 0)
		return NULL;
	n = strlen(url);
	url[n - 1] = '\0';
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	nu = xasprintf("%s.restored-%s/", url, stamp);
	if (json_object_deep_copy((struct json_object *)(uintptr_t)source, &out, NULL) < 0) {
		free(nu);
		free(url);
		return error_set(err, "cannot copy the source"), NULL;
	}
	json_object_object_add(out, "url", json_object_new_string(nu));
	free(nu);
	free(url);
	return out;
}

const struct source_ops source_webdav_ops = {
	.type = "webdav",
	.backup = webdav_backup,
	.restore = webdav_restore,
	.new_location = webdav_new_location,
};

int webdav_source_place(const struct json_object *source, char **host_r, uint16_t *port_r,
			struct error *err)
{
	struct dav_opts o;
	char *url = NULL, *host = NULL, *port = NULL;
	CURLU *u;
	int ret = 0;

	*host_r = NULL;
	*port_r = 0;
	if (webdav_source_opts(source, &o, &url, err) < 0)
		return -1;
	u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		ret = error_setk(err, ERROR_USAGE, "webdav source: url %s is not a URL", url);
	} else {
		char *h = host[0] == '[' ? xstrndup(host + 1, strcspn(host + 1, "]")) : xstrdup(host);

		*host_r = h;
		*port_r = (uint16_t)strtoul(port, NULL, 10);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	free(url);
	return ret;
}
