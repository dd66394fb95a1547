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

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "engine/meta.h"
#include "engine/point_writer.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sources/source.h"
#include "sources/webdav.h"
#include "sources/webdav_source.h"

#define XA_ETAG "user.webdav.etag"
#define XA_CTYPE "user.webdav.contenttype"
#define XA_FILEID "user.webdav.fileid"
#define XA_CHECKSUMS "user.webdav.checksums"
#define XA_PERMS "user.webdav.permissions"
#define DAV_MAX_TREE_DEPTH 200

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
	n = strlen(url);
	*url_r = n > 0 && url[n - 1] == '/' ? xstrdup(url) : xasprintf("%s/", url);
	o->url = *url_r;
	return 0;
}

struct wb {
	struct point_writer *pw;
	struct point_stream *ps;
	struct dav_client *dav;
	struct tree_reader *parent;
	struct meta_entry *pe; /* the parent's next entry, or NULL */
	struct point_totals t;
	uint64_t changed, reused, fetched, bytes_fetched;
	const char *url;
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

/* Whether the parent's entry holds this file's content as it is now. */
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
		same = r->etag == NULL && etag == NULL && r->has_mtime && pe->mtime_s == r->mtime_s;
	free(etag);
	return same;
}

struct fetch {
	struct wb *b;
	struct meta_entry *e;
	uint64_t n;
};

static int on_bytes(void *ctx, const void *data, size_t len, struct error *err)
{
	struct fetch *f = ctx;

	f->n += len;
	return point_stream_write(f->b->ps, f->e, data, len, err);
}

/* Downloads r into e: 0, 1 if it is gone (warned), -1. */
static int fetch_file(struct wb *b, struct dav_res *r, struct meta_entry *e, struct error *err)
{
	struct fetch f = { .b = b, .e = e };
	char *etag = NULL;
	int ret, try;

	for (try = 0;; try++) {
		ret = dav_get(b->dav, r->path, try < 2 ? r->etag : NULL, on_bytes, &f, &etag, err);
		if (ret < 0 && err->code == ERROR_NOTFOUND) {
			wb_warn(b, "%s was removed while the backup ran; left out", r->path);
			free(etag);
			return 1;
		}
		if (ret < 0) {
			free(etag);
			return -1;
		}
		if (ret == 0)
			break;
		/* The ETag moved since PROPFIND: the file changed. */
		if (try == 1)
			wb_warn(b, "%s changed while it was read (its ETag moved twice); stored as "
				   "read last", r->path);
		free(etag);
		etag = NULL;
		if (try == 0) {
			struct dav_list l;
			struct error e2;

			error_init(&e2);
			if (dav_propfind(b->dav, r->path, 0, 0, &l, &e2) == 0 && l.n >= 1) {
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
	if (point_stream_end(b->ps, e, err) < 0) {
		free(etag);
		return -1;
	}
	if (etag && (r->etag == NULL || strcmp(etag, r->etag) != 0)) {
		free(r->etag);
		r->etag = etag;
	} else {
		free(etag);
	}
	if (r->has_size && f.n != r->size)
		wb_warn(b, "%s: %" PRIu64 " bytes read, the listing said %" PRIu64, r->path, f.n,
			r->size);
	e->size = f.n;
	b->fetched++;
	b->bytes_fetched += f.n;
	return 0;
}

static int add_file(struct wb *b, struct dav_res *r, struct error *err)
{
	const struct meta_entry *pe = parent_at(b, r->path);
	struct meta_entry e;
	int ret = 0;

	memset(&e, 0, sizeof(e));
	e.type = META_FILE;
	e.mode = 0644;
	e.nlink = 1;
	e.path = xstrdup(r->path);
	if (unchanged(pe, r)) {
		for (size_t i = 0; i < pe->nextents; i++)
			meta_entry_add_extent(&e, pe->extents[i].id, pe->extents[i].len);
		e.size = pe->size;
		b->reused++;
	} else {
		ret = fetch_file(b, r, &e, err);
		b->changed++;
		if (ret == 1) {
			meta_entry_clear(&e);
			return 0;
		}
	}
	if (ret == 0) {
		set_attrs(&e, r);
		b->t.files++;
		b->t.bytes += e.size;
		ret = point_writer_add(b->pw, &e, err);
	}
	meta_entry_clear(&e);
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

static int walk(struct wb *b, const char *dir, int depth, struct error *err)
{
	struct dav_list l, kids = { 0 }, self = { 0 };
	struct meta_entry e;
	const struct meta_entry *pe;
	size_t i;
	int ret = 0;

	if (depth > DAV_MAX_TREE_DEPTH)
		return error_set(err, "%s%s: collections nest deeper than %d", b->url, dir,
				 DAV_MAX_TREE_DEPTH);
	if (dav_propfind(b->dav, dir, 1, 1, &l, err) < 0)
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
		set_attrs(&e, &self.res[0]);
	if (pe == NULL)
		b->changed++;
	b->t.dirs++;
	ret = point_writer_add(b->pw, &e, err);
	meta_entry_clear(&e);
	dav_list_clear(&self);
	for (i = 0; ret == 0 && i < kids.n; i++) {
		if (i > 0 && strcmp(kids.res[i].path, kids.res[i - 1].path) == 0)
			continue; /* a server that lists a name twice */
		if (kids.res[i].collection)
			ret = walk(b, kids.res[i].path, depth + 1, err);
		else
			ret = add_file(b, &kids.res[i], err);
	}
	dav_list_clear(&kids);
	return ret;
}

static void read_parent(struct wb *b)
{
	const struct rp *last = NULL;
	struct error err;
	int ret;

	error_init(&err);
	ret = point_writer_parent(b->pw, &last, &err);
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
	read_parent(&b);
	ret = walk(&b, "", 0, err);
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
		res->fetched = b.fetched;
		res->bytes_fetched = b.bytes_fetched;
		res->requests = dav_requests(b.dav);
	}
out:
	if (ret < 0)
		error_prefix(err, "backup of %s (%s) failed", o->unit, url ? url : "webdav");
	tree_reader_close(&b.parent);
	point_writer_close(&b.pw);
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

static int webdav_restore(struct store *s, const struct source_restore_opts *o,
			  struct source_restore_result *res, struct error *err)
{
	(void)s;
	(void)o;
	memset(res, 0, sizeof(*res));
	return error_setk(err, ERROR_USAGE, "webdav source: restore to a WebDAV server is not "
			  "implemented yet; restore the point to a folder (coffer restore)");
}

static struct json_object *webdav_new_location(const struct json_object *source,
					       const char *beneath, int64_t now,
					       struct error *err)
{
	(void)source;
	(void)beneath;
	(void)now;
	return error_setk(err, ERROR_USAGE, "webdav source: restore to a new location is not "
			  "implemented yet"), NULL;
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
