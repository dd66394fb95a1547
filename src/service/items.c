/* The entries of a restore point, one folder at a time (svc_rp_items(),
 * docs/api.md): read from the tenant's store through the point's tree, the
 * read audited first as a content read. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "engine/erasure.h"
#include "engine/find.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "engine/views.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

/* Entries listed by svc_rp_items() at most. */
#define ITEMS_MAX 10000

static struct json_object *entry_json(const struct meta_entry *e)
{
	struct json_object *o = json_object_new_object();
	const char *slash = strrchr(e->path, '/');
	char when[32], mode[8];

	json_object_object_add(o, "name", json_object_new_string(slash ? slash + 1 : e->path));
	json_object_object_add(o, "path", json_object_new_string(e->path));
	json_object_object_add(o, "type", json_object_new_string(view_entry_type(e->type)));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)e->size));
	snprintf(mode, sizeof(mode), "%04o", e->mode & 07777);
	json_object_object_add(o, "mode", json_object_new_string(mode));
	time_format(e->mtime_s, when);
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

/* The entries at and below dir; what the unit's erasure ledger withholds
 * is left out and reported in *withheld_r (a JSON object the caller owns). */
static int list_entries(struct store *st, const char *spec, const char *dir,
			struct json_object *items, int *found_r, int *truncated_r,
			struct json_object **withheld_r, struct error *err)
{
	struct store_unit *u = NULL;
	struct rp *rp = NULL;
	struct index *ix = NULL;
	struct tree_reader *tr = NULL;
	struct erasure_set *es = NULL;
	struct meta_entry *e;
	int ret = -1;

	if (tree_resolve(st, spec, &u, &rp, err) < 0 || (ix = index_open(u, err)) == NULL ||
	    erasure_set_load(u, &es, err) < 0 || (tr = tree_reader_open(u, ix, rp, err)) == NULL)
		goto out;
	tree_reader_withhold(tr, es, 1);
	while ((ret = tree_reader_next(tr, &e, err)) == 1) {
		if (tree_reader_withheld(tr) != NULL) {
			if (strcmp(e->path, dir) == 0 || child_of(e->path, dir))
				erasure_set_note(es, tree_reader_withheld(tr));
			continue;
		}
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
	*withheld_r = svc_withheld_obj(es);
out:
	tree_reader_close(&tr);
	erasure_set_free(&es);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&u);
	return ret;
}

int svc_rp_items(struct service *s, const struct svc_principal *p, const char *tenant,
		 const char *unit, uint32_t seq, const char *path, struct json_object **out,
		 struct error *err)
{
	struct catalog *c = svc_catalog(s);
	struct catalog_unit *u = NULL;
	struct json_object *items = NULL, *detail, *withheld = NULL;
	struct store *st = NULL;
	char *dir = NULL, *spec = NULL;
	int found = 0, truncated = 0, ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0 ||
	    catalog_unit_get(c, tenant, unit, &u, err) < 0)
		return -1;
	if (svc_live_point(s, tenant, unit, seq, err) < 0)
		goto out;
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
	if (list_entries(st, spec, dir, items, &found, &truncated, &withheld, err) < 0)
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
	json_object_object_add(*out, "withheld", withheld);
	items = withheld = NULL;
	ret = 0;
out:
	json_object_put(items);
	json_object_put(withheld);
	store_close(&st);
	free(spec);
	free(dir);
	catalog_unit_free(&u);
	return ret;
}

int svc_unit_find(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, const char *pattern, int ignore_case, struct json_object **out,
		  struct error *err)
{
	struct find_opts o = { .pattern = pattern, .ignore_case = ignore_case };
	struct find_result res = { 0 };
	struct catalog_unit *u = NULL;
	struct store_unit *su = NULL;
	struct json_object *items, *detail;
	struct store *st = NULL;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	if (pattern == NULL || *pattern == '\0') {
		error_setk(err, ERROR_USAGE, "'name' (a name pattern) is required");
		goto out;
	}
	/* A content read is audited before anything is read. */
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(pattern));
	ret = svc_audit(s, p, tenant, "unit.find", unit, detail, err);
	json_object_put(detail);
	if (ret < 0)
		goto out;
	ret = -1;
	if ((st = svc_tenant_store(s, tenant, 0, err)) == NULL ||
	    (su = store_unit_open(st, unit, 0, err)) == NULL || find_run(su, &o, &res, err) < 0)
		goto out;
	items = json_object_new_array();
	for (size_t i = 0; i < res.n; i++)
		json_object_array_add(items, view_find_version(&res.v[i]));
	*out = json_object_new_object();
	json_object_object_add(*out, "unit", json_object_new_string(unit));
	json_object_object_add(*out, "name", json_object_new_string(pattern));
	json_object_object_add(*out, "restorePoints", json_object_new_int64((int64_t)res.points));
	json_object_object_add(*out, "items", items);
	json_object_object_add(*out, "withheld", svc_withheld_text(res.withheld, res.withheld_by));
	ret = 0;
out:
	find_result_clear(&res);
	store_unit_close(&su);
	store_close(&st);
	catalog_unit_free(&u);
	return ret;
}
