/* Differences between two restore points, or a point and its live folder:
 * a merge-join of two streams in meta_path_cmp order (two tree readers, or
 * a tree reader and a walker). */
#include "diff.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine/erasure.h"
#include "engine/fsmeta.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "engine/walk.h"
#include "lib/error.h"
#include "lib/fsat.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

/* One side of the join: a restore point, or (live) the source folder. */
struct side {
	struct store_unit *u;
	struct rp *rp;
	struct index *ix;
	struct tree_reader *tr;
	struct erasure_set *es;
	struct walker *w;
	struct meta_entry *e; /* current entry, NULL at the end */
	struct meta_entry live; /* the live entry e points to */
	const char *abs;      /* live: the current item's path */
	int root_fd;          /* live: the folder, open (-1: not) */
	int dirfd;            /* live: the current item's folder */
	const char *name;     /* and its name there */
};

struct diff {
	diff_report_cb *cb;
	void *ctx;
	struct diff_result *res;
	struct side a, b;     /* a: rp1 (old), b: rp2 or live (new) */
	int live;
	struct fsmeta_links *links; /* live: first path of each multiply-linked inode */
	struct fsmeta_reader *fr;   /* live: xattrs and owner names */
	char *last_dir;       /* live: the folder the walker returned last */
	char *unreadable;     /* live: a folder that could not be listed */
};

static void diff_report(struct diff *d, char kind, const char *path, const struct meta_entry *e)
{
	switch (kind) {
	case '+': d->res->added++; break;
	case '-': d->res->removed++; break;
	case 'M': d->res->modified++; break;
	default: d->res->attrs++; break;
	}
	if (d->cb)
		d->cb(d->ctx, kind, *path ? path : ".", e);
}

static int side_open_point(struct store *s, const char *spec, struct side *sd, struct error *err)
{
	if (tree_resolve(s, spec, &sd->u, &sd->rp, err) < 0)
		return -1;
	sd->ix = index_open(sd->u, err);
	if (sd->ix == NULL)
		return -1;
	if (erasure_set_load(sd->u, &sd->es, err) < 0)
		return -1;
	sd->tr = tree_reader_open(sd->u, sd->ix, sd->rp, err);
	if (sd->tr == NULL)
		return -1;
	tree_reader_withhold(sd->tr, sd->es, 0);
	return 0;
}

static void side_close(struct side *sd)
{
	tree_reader_close(&sd->tr);
	erasure_set_free(&sd->es);
	walker_close(&sd->w);
	if (sd->root_fd >= 0)
		close(sd->root_fd);
	sd->root_fd = -1;
	meta_entry_clear(&sd->live);
	index_close(&sd->ix);
	rp_free(&sd->rp);
	store_unit_close(&sd->u);
}

static int side_next_point(struct side *sd, struct error *err)
{
	int r = tree_reader_next(sd->tr, &sd->e, err);

	if (r <= 0)
		sd->e = NULL;
	return r < 0 ? -1 : 0;
}

/* Walker warnings: a folder that cannot be listed. Its entries in the
 * point are then unknown, not removed. The walker lists a folder when it
 * moves past it, which the join does only once the point side has passed
 * the previous unreadable folder's entries: one remembered folder is enough. */
static void diff_walk_warn(void *ctx, const char *msg)
{
	struct diff *d = ctx;

	log_warn("%s", msg);
	free(d->unreadable);
	d->unreadable = d->last_dir ? xstrdup(d->last_dir) : NULL;
}

static int below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return *path != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Hard links as backup records them: the second and later paths of a
 * multiply-linked file are META_HARDLINK entries naming the first. */
static void live_hardlink(struct diff *d, struct meta_entry *e, const struct stat *st)
{
	const char *first;

	if (d->links == NULL)
		d->links = fsmeta_links_new();
	if ((first = fsmeta_links_first(d->links, st, e->path)) != NULL) {
		e->type = META_HARDLINK;
		e->target = xstrdup(first);
	}
}

static void live_fill(struct diff *d, const char *rel, const struct stat *st)
{
	struct meta_entry *e = &d->b.live;

	meta_entry_clear(e);
	e->path = xstrdup(rel);
	e->type = fsmeta_type(st->st_mode);
	fsmeta_from_stat(e, st);
	if (e->type == META_FILE && st->st_nlink > 1)
		live_hardlink(d, e, st);
	if (e->type == META_DIR) {
		free(d->last_dir);
		d->last_dir = xstrdup(rel);
	}
	d->b.e = e;
}

static int side_next_live(struct diff *d, struct error *err)
{
	const char *rel;
	struct stat st;
	int r = walker_next(d->b.w, &rel, &d->b.abs, &st, err);

	d->b.e = NULL;
	if (r == 1) {
		d->b.dirfd = walker_at(d->b.w, &d->b.name);
		live_fill(d, rel, &st);
	}
	return r < 0 ? -1 : 0;
}

static int diff_advance(struct diff *d, struct side *sd, struct error *err)
{
	if (sd == &d->b && d->live)
		return side_next_live(d, err);
	return side_next_point(sd, err);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Content of two points: extents for files; what a link names, a
 * device's number. A change of type counts as content. */
static int content_differs(const struct meta_entry *a, const struct meta_entry *b)
{
	if (a->type != b->type)
		return 1;
	switch (a->type) {
	case META_FILE: return !meta_same_content(a, b);
	case META_SYMLINK:
	case META_HARDLINK: return !same_str(a->target, b->target);
	case META_CHR:
	case META_BLK: return a->rdev != b->rdev;
	default: return 0;
	}
}

/* Content against the live folder: size or mtime, as backup decides. */
static int live_content_differs(struct diff *d, const struct meta_entry *p)
{
	struct meta_entry *l = &d->b.live;

	if (p->type == META_FILE && l->type == META_FILE)
		return l->size != p->size || l->mtime_s != p->mtime_s || l->mtime_ns != p->mtime_ns;
	if (p->type == META_SYMLINK && l->type == META_SYMLINK) {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(d->b.dirfd, d->b.name, target, PATH_MAX);

		l->target = n < 0 ? NULL : xstrndup(target, (size_t)n);
		if (n < 0)
			log_warn("cannot read link %s", d->b.abs);
	}
	return content_differs(p, l);
}

/* Attributes of the live entry, read as backup reads them; owners (ids
 * and names) count only when running as root (as restore's comparison),
 * since nobody else could restore them. */
static int live_attrs_differ(struct diff *d, const struct meta_entry *p)
{
	struct meta_entry *l = &d->b.live;
	char *msg;

	if (l->type == META_HARDLINK)
		return 0; /* the first link carries the attributes */
	if (d->fr == NULL)
		d->fr = fsmeta_reader_create();
	msg = fsmeta_reader_read(d->fr, l, d->b.dirfd, d->b.name, d->b.abs);
	if (msg)
		log_warn("%s", msg);
	free(msg);
	if (geteuid() != 0) {
		l->uid = p->uid;
		l->gid = p->gid;
		free(l->uname);
		free(l->gname);
		l->uname = l->gname = NULL;
	}
	return !meta_same_attrs(l, p);
}

static char diff_kind(struct diff *d, const struct meta_entry *a, const struct meta_entry *b)
{
	if (d->live) {
		if (live_content_differs(d, a))
			return 'M';
		return live_attrs_differ(d, a) ? 'm' : 0;
	}
	if (content_differs(a, b))
		return 'M';
	if (a->type == META_HARDLINK)
		return 0;
	return meta_same_attrs(a, b) ? 0 : 'm';
}

/* A point entry that the live side lacks; not reported when it lies in a
 * folder that could not be listed. */
static void diff_removed(struct diff *d, const struct meta_entry *e)
{
	if (d->live && d->unreadable && below(e->path, d->unreadable))
		return;
	if (*e->path)
		diff_report(d, '-', e->path, e);
}

static int diff_join(struct diff *d, struct error *err)
{
	while (d->a.e || d->b.e) {
		int c = !d->a.e ? 1 : !d->b.e ? -1 : meta_path_cmp(d->a.e->path, d->b.e->path);
		char kind;

		if (c < 0)
			diff_removed(d, d->a.e);
		else if (c > 0 && *d->b.e->path)
			diff_report(d, '+', d->b.e->path, d->b.e);
		else if (c == 0 && (kind = diff_kind(d, d->a.e, d->b.e)) != 0)
			diff_report(d, kind, d->a.e->path, d->b.e);
		if (c <= 0 && diff_advance(d, &d->a, err) < 0)
			return -1;
		if (c >= 0 && diff_advance(d, &d->b, err) < 0)
			return -1;
	}
	return 0;
}

static int diff_open_live(struct diff *d, struct error *err)
{
	if (d->a.rp->source == NULL || *d->a.rp->source == '\0')
		return error_setk(err, ERROR_USAGE, "restore point %s@%u has no source folder",
				  d->a.rp->unit, d->a.rp->seq);
	d->b.root_fd = fsat_open_root(NULL, d->a.rp->source, 0, err);
	if (d->b.root_fd < 0)
		return -1;
	d->b.w = walker_open(d->b.root_fd, d->a.rp->source, diff_walk_warn, d, err);
	return d->b.w ? side_next_live(d, err) : -1;
}

int diff_run(struct store *s, const char *rp1, const char *rp2, diff_report_cb *cb, void *ctx,
	     struct diff_result *res, struct error *err)
{
	struct diff d = { .cb = cb, .ctx = ctx, .res = res, .a.root_fd = -1, .b.root_fd = -1 };
	int ret = -1;

	memset(res, 0, sizeof(*res));
	d.live = rp2 == NULL || strcmp(rp2, "live") == 0;
	if (side_open_point(s, rp1, &d.a, err) < 0 || side_next_point(&d.a, err) < 0)
		goto out;
	if (d.live ? diff_open_live(&d, err) < 0
		   : side_open_point(s, rp2, &d.b, err) < 0 || side_next_point(&d.b, err) < 0)
		goto out;
	ret = diff_join(&d, err);
	if (ret == 0) {
		json_object *report = json_object_new_array();

		erasure_report_add(report, d.a.es);
		erasure_report_add(report, d.b.es);
		res->withheld = erasure_report_total(report);
		if (res->withheld > 0)
			res->withheld_by = xstrdup(
				json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN));
		json_object_put(report);
	}
out:
	side_close(&d.a);
	side_close(&d.b);
	fsmeta_links_free(&d.links);
	fsmeta_reader_destroy(&d.fr);
	free(d.last_dir);
	free(d.unreadable);
	if (ret < 0)
		error_prefix(err, "diff of %s and %s", rp1, rp2 ? rp2 : "live");
	return ret;
}
