/* Reading restore points without restoring them: recommended points of a
 * unit (from the catalog's statistics) and the entries of a point under a
 * path (from the store, audited as a content read). */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "service/internal.h"
#include "service/recommend.h"
#include "service/service.h"
#include "service/views.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

/* The anomaly rule (docs/service.md "Recommendations"). A point is
 * compared with the median of up to HISTORY earlier normal points (the
 * first point of a unit, a full copy, is never one; nor is an anomaly), and
 * only once MIN_HISTORY of them exist. */
#define HISTORY 10
#define MIN_HISTORY 2
/* A jump in changed bytes: new data at least JUMP_FACTOR times the median,
 * and at least JUMP_FLOOR (small units change by small amounts). */
#define JUMP_FACTOR 8
#define JUMP_FLOOR (1ull << 20)
/* Encryption: of at least SHARE_MIN_NEW bytes of new data, a share of
 * SHARE_MIN or more did not compress, SHARE_RISE above the median share
 * (a unit of photos or archives never compresses, and is not flagged). */
#define SHARE_MIN_NEW (256ull << 10)
#define SHARE_MIN 0.5
#define SHARE_RISE 0.3
#define FASTEST 3
/* Entries listed by svc_rp_items() at most. */
#define ITEMS_MAX 10000

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2;
}

static double median_double(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double share(const struct catalog_rp *rp)
{
	return rp->new_bytes ? (double)rp->incompressible_bytes / (double)rp->new_bytes : 0;
}

static double mib(uint64_t b)
{
	return (double)b / 1048576.0;
}

/* Whether rps[i] is an anomaly against the normal points before it
 * (normal[k] set for k < i); the reason into *why (caller frees). */
static int anomaly(struct catalog_rp *const *rps, size_t i, const int *normal, char **why)
{
	uint64_t bytes[HISTORY];
	double shares[HISTORY];
	size_t nb = 0, ns = 0, k;
	const struct catalog_rp *rp = rps[i];
	uint64_t med;
	double msh;

	for (k = i; k-- > 0 && nb < HISTORY;) {
		if (!normal[k] || rps[k]->seq == 1)
			continue;
		bytes[nb++] = rps[k]->new_bytes;
		if (rps[k]->new_bytes > 0)
			shares[ns++] = share(rps[k]);
	}
	if (nb < MIN_HISTORY)
		return 0;
	med = median_u64(bytes, nb);
	msh = median_double(shares, ns);
	if (rp->new_bytes >= SHARE_MIN_NEW && share(rp) >= SHARE_MIN &&
	    share(rp) >= msh + SHARE_RISE) {
		*why = xasprintf("%.0f%% of its %.1f MiB of new data did not compress, against a "
				 "median of %.0f%% in the %zu points before it: what encryption by "
				 "ransomware looks like", share(rp) * 100, mib(rp->new_bytes),
				 msh * 100, nb);
		return 1;
	}
	if (rp->new_bytes >= JUMP_FLOOR && rp->new_bytes / JUMP_FACTOR >= med) {
		*why = xasprintf("its changed bytes jumped to %.1f MiB of new data, against a median "
				 "of %.1f MiB in the %zu points before it", mib(rp->new_bytes),
				 mib(med), nb);
		return 1;
	}
	return 0;
}

static struct json_object *point_json(const char *kind, const struct catalog_rp *rp)
{
	struct json_object *o = json_object_new_object();
	char when[32];

	json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "restorePoint", json_object_new_int64(rp->seq));
	view_time(rp->time_ns / 1000000000, when);
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "timeUnix", json_object_new_int64(rp->time_ns / 1000000000));
	return o;
}

static void add_changed(struct json_object *o, uint64_t items, uint64_t bytes)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "items", json_object_new_int64((int64_t)items));
	json_object_object_add(c, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(o, "changedSince", c);
}

struct json_object *recommend_points(struct catalog_rp *const *rps, size_t n)
{
	struct json_object *out = json_object_new_object();
	struct json_object *recs = json_object_new_array(), *anoms = json_object_new_array();
	int *normal = xcalloc(n ? n : 1, sizeof(int));
	size_t i, last_anomaly = SIZE_MAX, run_start = SIZE_MAX;
	uint64_t items = 0, bytes = 0;
	char *why = NULL, *last_why = NULL;

	for (i = 0; i < n; i++) {
		normal[i] = !anomaly(rps, i, normal, &why);
		if (normal[i])
			continue;
		struct json_object *a = point_json("anomaly", rps[i]);

		json_object_object_add(a, "reason", json_object_new_string(why));
		json_object_array_add(anoms, a);
		/* The start of the latest run of consecutive anomalies. */
		if (last_anomaly == SIZE_MAX || last_anomaly + 1 != i)
			run_start = i;
		last_anomaly = i;
		if (run_start == i) {
			free(last_why);
			last_why = why;
		} else {
			free(why);
		}
		why = NULL;
	}
	/* The fastest: the newest points, since differences add up going back;
	 * the difference is the changes recorded by the points after each. */
	for (i = n; i-- > 0 && n - i <= FASTEST;) {
		struct json_object *o = point_json("fastest", rps[i]);
		char *reason;

		add_changed(o, items, bytes);
		if (i == n - 1)
			reason = xasprintf("the latest restore point: the least to rewrite");
		else
			reason = xasprintf("%" PRIu64 " entries and %.1f MiB of new data changed since: "
					   "the least to rewrite after the later points", items,
					   mib(bytes));
		json_object_object_add(o, "reason", json_object_new_string(reason));
		free(reason);
		if (run_start != SIZE_MAX && i >= run_start) {
			reason = xasprintf("taken at or after the anomaly at restore point %" PRIu32
					   ": it may hold the damage", rps[run_start]->seq);
			json_object_object_add(o, "warning", json_object_new_string(reason));
			free(reason);
		}
		json_object_array_add(recs, o);
		items += rps[i]->changed_entries;
		bytes += rps[i]->new_bytes;
	}
	if (run_start != SIZE_MAX && run_start > 0) {
		const struct catalog_rp *b = rps[run_start - 1];
		struct json_object *o = point_json("beforeAnomaly", b);
		char *reason = xasprintf("the last restore point before restore point %" PRIu32
					 ", where %s", rps[run_start]->seq, last_why);

		for (items = bytes = 0, i = run_start; i < n; i++) {
			items += rps[i]->changed_entries;
			bytes += rps[i]->new_bytes;
		}
		add_changed(o, items, bytes);
		json_object_object_add(o, "anomalyRestorePoint",
				       json_object_new_int64(rps[run_start]->seq));
		json_object_object_add(o, "reason", json_object_new_string(reason));
		free(reason);
		json_object_array_add(recs, o);
	}
	free(last_why);
	free(normal);
	json_object_object_add(out, "recommendations", recs);
	json_object_object_add(out, "anomalies", anoms);
	return out;
}

/* Every restore point of the unit that is not forgotten, ascending. */
static int unit_points(struct catalog *c, const char *tenant, const char *unit,
		       struct catalog_rp ***rps_r, size_t *n_r, struct error *err)
{
	struct catalog_rp_filter f = { 0 };
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_rp **all = NULL, **page;
	size_t n = 0, np, i;
	char cursor[16];

	for (;;) {
		if (catalog_rp_list(c, tenant, unit, &f, &pg, &page, &np, err) < 0) {
			CATALOG_LIST_FREE(all, n, catalog_rp_free);
			return -1;
		}
		all = xrealloc(all, xmul(n + np + 1, sizeof(*all)));
		for (i = 0; i < np; i++) {
			if (page[i]->forgotten)
				catalog_rp_free(page[i]);
			else
				all[n++] = page[i];
		}
		if (np > 0)
			snprintf(cursor, sizeof(cursor), "%" PRIu32, page[np - 1]->seq);
		free(page);
		if (np < (size_t)pg.limit)
			break;
		pg.after = cursor;
	}
	*rps_r = all;
	*n_r = n;
	return 0;
}

int svc_recommend(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, struct json_object **out, struct error *err)
{
	struct catalog *c = svc_catalog(s);
	struct catalog_unit *u = NULL;
	struct catalog_rp **rps = NULL;
	size_t n = 0;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_unit_get(c, tenant, unit, &u, err) < 0)
		return -1;
	catalog_unit_free(u);
	if (unit_points(c, tenant, unit, &rps, &n, err) < 0)
		return -1;
	*out = recommend_points(rps, n);
	json_object_object_add(*out, "unit", json_object_new_string(unit));
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	return 0;
}

/* ---- entries of a restore point ---- */

static const char *type_name(uint8_t t)
{
	static const char *const names[] = { "unknown", "file", "dir", "symlink", "hardlink",
					     "fifo", "chr", "blk", "sock" };

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

static struct json_object *entry_json(const struct meta_entry *e)
{
	struct json_object *o = json_object_new_object();
	const char *slash = strrchr(e->path, '/');
	char when[32], mode[8];

	json_object_object_add(o, "name", json_object_new_string(slash ? slash + 1 : e->path));
	json_object_object_add(o, "path", json_object_new_string(e->path));
	json_object_object_add(o, "type", json_object_new_string(type_name(e->type)));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)e->size));
	snprintf(mode, sizeof(mode), "%04o", e->mode & 07777);
	json_object_object_add(o, "mode", json_object_new_string(mode));
	view_time(e->mtime_s, when);
	json_object_object_add(o, "mtime", json_object_new_string(when));
	json_object_object_add(o, "mtimeUnix", json_object_new_int64(e->mtime_s));
	if (e->target)
		json_object_object_add(o, "target", json_object_new_string(e->target));
	return o;
}

/* "/a/b/" -> "a/b"; NULL for a path with "." or ".." components. */
static char *clean_path(const char *path)
{
	char *p, *q;
	size_t len;

	while (path && *path == '/')
		path++;
	p = xstrdup(path ? path : "");
	for (len = strlen(p); len > 0 && p[len - 1] == '/';)
		p[--len] = '\0';
	for (q = p; *q; q = strchr(q, '/') ? strchr(q, '/') + 1 : q + strlen(q)) {
		size_t n = strcspn(q, "/");

		if (n == 0 || (n == 1 && q[0] == '.') || (n == 2 && q[0] == '.' && q[1] == '.')) {
			free(p);
			return NULL;
		}
	}
	return p;
}

/* Whether `path` is a direct child of `dir` ("" is the root). */
static int child_of(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	if (*path == '\0')
		return 0;
	if (len == 0)
		return strchr(path, '/') == NULL;
	return strncmp(path, dir, len) == 0 && path[len] == '/' &&
	       strchr(path + len + 1, '/') == NULL;
}

static int list_entries(struct store *st, const char *spec, const char *dir,
			struct json_object *items, int *found_r, int *truncated_r,
			struct error *err)
{
	struct store_unit *u = NULL;
	struct rp *rp = NULL;
	struct index *ix = NULL;
	struct tree_reader *tr = NULL;
	struct meta_entry *e;
	int ret = -1;

	if (tree_resolve(st, spec, &u, &rp, err) < 0 || (ix = index_open(u, err)) == NULL ||
	    (tr = tree_reader_open(u, ix, rp, err)) == NULL)
		goto out;
	while ((ret = tree_reader_next(tr, &e, err)) == 1) {
		if (strcmp(e->path, dir) == 0) {
			*found_r = 1;
			if (e->type != META_DIR) /* a file: itself */
				json_object_array_add(items, entry_json(e));
		} else if (child_of(e->path, dir)) {
			if (json_object_array_length(items) >= ITEMS_MAX) {
				*truncated_r = 1;
				ret = 0;
				break;
			}
			json_object_array_add(items, entry_json(e));
		}
	}
out:
	tree_reader_destroy(&tr);
	index_destroy(&ix);
	rp_free(&rp);
	store_unit_destroy(&u);
	return ret;
}

int svc_rp_items(struct service *s, const struct svc_principal *p, const char *tenant,
		 const char *unit, uint32_t seq, const char *path, struct json_object **out,
		 struct error *err)
{
	struct catalog *c = svc_catalog(s);
	struct catalog_unit *u = NULL;
	struct catalog_rp *rp = NULL;
	struct json_object *items = NULL, *detail;
	struct store *st = NULL;
	char *dir = NULL, *spec = NULL;
	int found = 0, truncated = 0, ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0 ||
	    catalog_unit_get(c, tenant, unit, &u, err) < 0)
		return -1;
	if (catalog_rp_get(c, tenant, unit, seq, &rp, err) < 0 || rp->forgotten) {
		error_setk(err, ERROR_NOTFOUND, "unit %s has no restore point %" PRIu32, unit, seq);
		goto out;
	}
	dir = clean_path(path);
	if (dir == NULL) {
		error_setk(err, ERROR_USAGE, "path %s: \".\" and \"..\" are not allowed", path);
		goto out;
	}
	spec = xasprintf("%s@%" PRIu32, unit, seq);
	/* A content read is audited before anything is read. */
	detail = json_object_new_object();
	json_object_object_add(detail, "path", json_object_new_string(dir));
	ret = svc_audit(s, p, tenant, "restorePoint.list", spec, detail, err);
	json_object_put(detail);
	if (ret < 0)
		goto out;
	ret = -1;
	st = svc_tenant_store(s, tenant, 0, err);
	if (st == NULL)
		goto out;
	items = json_object_new_array();
	if (list_entries(st, spec, dir, items, &found, &truncated, err) < 0)
		goto out;
	if (!found && *dir != '\0') {
		error_setk(err, ERROR_NOTFOUND, "restore point %s has no entry %s", spec, dir);
		goto out;
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "unit", json_object_new_string(unit));
	json_object_object_add(*out, "restorePoint", json_object_new_int64(seq));
	json_object_object_add(*out, "path", json_object_new_string(dir));
	json_object_object_add(*out, "items", items);
	json_object_object_add(*out, "truncated", json_object_new_boolean(truncated));
	items = NULL;
	ret = 0;
out:
	json_object_put(items);
	store_destroy(&st);
	free(spec);
	free(dir);
	catalog_rp_free(rp);
	catalog_unit_free(u);
	return ret;
}
