/* coffer catalog rebuild (docs/service.md "Rebuild"): every restore point
 * row comes back from the tenants' stores, wherever their locations put
 * them, and tenants and units missing from the catalog come back from the
 * descriptors under DATA/tenants (names, locations, kinds, sources without
 * secrets). */
#include <dirent.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "engine/diff.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/rp.h"
#include "store/store.h"

#define DESCRIPTOR_MAX (256 * 1024)

struct rebuild_count {
	int64_t tenants, tenants_added, units, units_added, points, forgotten, failed;
};

/* A descriptor written by descriptor.c, or NULL. */
static struct json_object *read_descriptor(const char *path)
{
	struct json_object *o;
	struct error err;
	struct buf b;

	error_init(&err);
	buf_init(&b, DESCRIPTOR_MAX);
	if (fs_read_file(path, &b, DESCRIPTOR_MAX, &err) < 0) {
		buf_clear(&b);
		return NULL;
	}
	o = b.data ? json_tokener_parse((const char *)b.data) : NULL;
	buf_clear(&b);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *dstr(struct json_object *o, const char *key, const char *dflt)
{
	const char *v = jsonu_str(o, key);

	return v ? v : dflt;
}

/* `store_dir`: the tenant's folder under DATA/stores, or NULL for a tenant
 * known from its descriptor only (its location is there). */
static int tenant_ensure(struct service *s, const char *id, const char *store_dir,
			 struct rebuild_count *c, struct error *err)
{
	struct catalog_tenant t = { 0 }, *got = NULL;
	struct json_object *d;
	char *dir, *path;
	int ret;

	if (catalog_tenant_get(svc_catalog(s), id, &got, err) == 0) {
		catalog_tenant_free(&got);
		return 0;
	}
	if (err->code != ERROR_NOTFOUND)
		return -1;
	error_init(err);
	dir = svc_tenant_meta_dir(s, id);
	path = xasprintf("%s/tenant.json", dir);
	d = read_descriptor(path);
	if (d == NULL)
		log_warn("event=rebuild tenant=%s msg=\"no descriptor %s: named after its id\"", id,
			 path);
	t.id = svc_in(id);
	t.name = svc_in(dstr(d, "name", id));
	t.state = svc_in(catalog_tenant_state_name(CATALOG_TENANT_ACTIVE));
	t.store = svc_in(store_dir ? store_dir : dstr(d, "location", SVC_LOCATION_LOCAL));
	t.created = svc_now(s);
	ret = catalog_tenant_insert(svc_catalog(s), &t, err);
	if (ret == 0)
		c->tenants_added++;
	json_object_put(d);
	free(path);
	free(dir);
	return ret;
}

static int unit_ensure(struct service *s, const char *tenant, const char *id,
		       struct rebuild_count *c, struct error *err)
{
	struct catalog_unit u = { 0 }, *got = NULL;
	struct json_object *d, *src;
	char *dir, *path;
	int ret;

	if (catalog_unit_get(svc_catalog(s), tenant, id, &got, err) == 0) {
		catalog_unit_free(&got);
		return 0;
	}
	if (err->code != ERROR_NOTFOUND)
		return -1;
	error_init(err);
	dir = svc_tenant_meta_dir(s, tenant);
	path = xasprintf("%s/units/%s.json", dir, id);
	d = read_descriptor(path);
	if (d == NULL)
		log_warn("event=rebuild tenant=%s unit=%s msg=\"no descriptor %s: kind account, "
			 "named after its id, no source\"", tenant, id, path);
	u.id = svc_in(id);
	u.tenant = svc_in(tenant);
	u.kind = svc_in(dstr(d, "kind", catalog_kind_name(CATALOG_KIND_ACCOUNT)));
	u.name = svc_in(dstr(d, "name", id));
	u.source = svc_in("{}");
	if (d && json_object_object_get_ex(d, "source", &src))
		u.source = svc_in(json_object_to_json_string_ext(src, JSON_C_TO_STRING_PLAIN));
	u.state = svc_in(catalog_unit_state_name(CATALOG_UNIT_UNPROTECTED));
	u.created = svc_now(s);
	ret = catalog_unit_insert(svc_catalog(s), &u, err);
	if (ret == 0)
		c->units_added++;
	json_object_put(d);
	free(path);
	free(dir);
	return ret;
}

static void count_change(void *ctx, char kind, const char *path, const struct meta_entry *e)
{
	uint64_t *n = ctx;

	(void)path;
	(void)e;
	if (kind != 'm')
		(*n)++;
}

/* What the folder source records at backup time: entries added, changed or
 * removed since the point before (sources/folder.c). */
static int64_t changed_since_parent(struct store *st, const char *unit, uint32_t seq,
				    uint32_t prev)
{
	struct diff_result dr = { 0 };
	struct error err;
	uint64_t n = 0;
	char *a, *b;
	int ret;

	if (prev == 0)
		return -1;
	a = xasprintf("%s@%" PRIu32, unit, prev);
	b = xasprintf("%s@%" PRIu32, unit, seq);
	error_init(&err);
	ret = diff_run(st, a, b, count_change, &n, &dr, &err);
	free(dr.withheld_by);
	free(a);
	free(b);
	return ret < 0 ? -1 : (int64_t)n;
}

static int record_tombstone(struct service *s, struct store_unit *su, const char *tenant,
			    uint32_t seq, struct error *err)
{
	struct rp_tombstone *t = NULL;
	struct catalog_rp row = { 0 };
	char hash[65];
	int ret;

	if (rp_tombstone_read(su, seq, &t, err) < 0)
		return -1;
	hex_encode(t->hash, 32, hash);
	row.tenant = svc_in(tenant);
	row.unit = svc_in(store_unit_name(su));
	row.seq = seq;
	row.time_ns = t->time_ns;
	row.hash = hash;
	row.forgotten = 1;
	ret = catalog_rp_put(svc_catalog(s), &row, err);
	rp_tombstone_free(&t);
	return ret;
}

/* The unit's last success from its newest point, when the row was new. */
static void unit_touch(struct service *s, const char *tenant, const char *unit, int64_t last_s)
{
	struct catalog_unit *u = NULL;
	struct error err;

	error_init(&err);
	svc_lock(s);
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, &err) == 0 &&
	    u->last_success < last_s) {
		u->last_success = last_s;
		if (u->last_attempt < last_s)
			u->last_attempt = last_s;
		catalog_unit_update(svc_catalog(s), u, &err);
	}
	svc_unlock(s);
	catalog_unit_free(&u);
}

static int rebuild_unit(struct service *s, struct store *st, const char *tenant,
			const char *unit, struct rebuild_count *c, struct error *err)
{
	struct store_unit *su;
	struct rp_slot *slots = NULL;
	size_t n = 0;
	uint32_t prev = 0;
	int64_t last = 0;
	int ret = 0;

	if (unit_ensure(s, tenant, unit, c, err) < 0)
		return -1;
	c->units++;
	su = store_unit_open(st, unit, 0, err);
	if (su == NULL)
		return -1;
	if (rp_list_all(su, &slots, &n, err) < 0) {
		store_unit_close(&su);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct error perr;
		int r;

		error_init(&perr);
		if (slots[i].forgotten) {
			r = record_tombstone(s, su, tenant, slots[i].seq, &perr);
			c->forgotten += r == 0;
		} else {
			int64_t changed = slots[i].seq == 1 ? SVC_CHANGED_ALL
						: changed_since_parent(st, unit, slots[i].seq, prev);

			r = svc_rp_record_unit(s, su, tenant, slots[i].seq, changed, &perr);
			if (r == 0) {
				struct catalog_rp *row = NULL;

				c->points++;
				if (catalog_rp_get(svc_catalog(s), tenant, unit, slots[i].seq, &row,
						   &perr) == 0)
					last = row->time_ns / 1000000000LL;
				catalog_rp_free(&row);
			}
			prev = slots[i].seq;
		}
		if (r < 0) {
			log_warn("event=rebuild tenant=%s unit=%s restore_point=%u error=\"%s\"",
				 tenant, unit, slots[i].seq, perr.msg);
			c->failed++;
			if (ret == 0) {
				*err = perr;
				ret = -1;
			}
		}
	}
	if (last > 0)
		unit_touch(s, tenant, unit, last);
	if (ret == 0)
		ret = svc_erasures_rebuild(s, tenant, su, err);
	free(slots);
	store_unit_close(&su);
	return ret;
}

static int rebuild_tenant(struct service *s, const char *tenant, struct rebuild_count *c,
			  struct error *err)
{
	char *store_dir = xasprintf("%s/stores/%s", svc_cfg(s)->data_dir, tenant);
	struct store *st = NULL;
	struct stat sb;
	char **names = NULL;
	size_t n = 0;
	int ret = -1;

	if (tenant_ensure(s, tenant, stat(store_dir, &sb) == 0 ? store_dir : NULL, c, err) < 0)
		goto out;
	c->tenants++;
	st = svc_tenant_store(s, tenant, 0, err);
	if (st == NULL || store_unit_names(st, &names, &n, err) < 0)
		goto out;
	ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct error uerr;

		error_init(&uerr);
		if (rebuild_unit(s, st, tenant, names[i], c, &uerr) < 0) {
			log_warn("event=rebuild tenant=%s unit=%s error=\"%s\"", tenant, names[i],
				 uerr.msg);
			if (ret == 0)
				*err = uerr;
			ret = -1;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	store_close(&st);
	free(store_dir);
	return ret;
}

/* Tenant ids, each once, in the order first seen. */
struct idlist {
	char **v;
	size_t n;
};

static void idlist_add(struct idlist *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], id) == 0)
			return;
	l->v = xrealloc(l->v, xmul(l->n + 1, sizeof(*l->v)));
	l->v[l->n++] = xstrdup(id);
}

static void idlist_clear(struct idlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Adds the tenant ids (names "t-...") in folder `dir` to ids. */
static void ids_from_folder(const char *dir, struct idlist *ids)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "t-", 2) == 0)
			idlist_add(ids, de->d_name);
	closedir(d);
}

/* Every tenant the catalog, DATA/stores or a descriptor knows. */
static int tenant_ids(struct service *s, struct idlist *ids, struct error *err)
{
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_tenant **ts = NULL;
	char *after = NULL, *dir;
	size_t n = 0;

	do {
		pg.after = after;
		if (catalog_tenant_list(svc_catalog(s), &pg, &ts, &n, err) < 0) {
			free(after);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			idlist_add(ids, ts[i]->id);
		free(after);
		after = n ? xstrdup(ts[n - 1]->id) : NULL;
		CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	} while (n == 1000);
	free(after);
	dir = xasprintf("%s/stores", svc_cfg(s)->data_dir);
	ids_from_folder(dir, ids);
	free(dir);
	dir = xasprintf("%s/tenants", svc_cfg(s)->data_dir);
	ids_from_folder(dir, ids);
	free(dir);
	return 0;
}

int svc_catalog_rebuild(struct service *s, struct json_object **out, struct error *err)
{
	struct rebuild_count c = { 0 };
	struct idlist ids = { 0 };
	struct error terr;
	int ret = 0;

	if (tenant_ids(s, &ids, err) < 0 || catalog_rp_clear(svc_catalog(s), err) < 0) {
		idlist_clear(&ids);
		return -1;
	}
	for (size_t i = 0; i < ids.n; i++) {
		error_init(&terr);
		if (rebuild_tenant(s, ids.v[i], &c, &terr) < 0) {
			log_warn("event=rebuild tenant=%s error=\"%s\"", ids.v[i], terr.msg);
			if (ret == 0) {
				*err = terr;
				error_prefix(err, "tenant %s", ids.v[i]);
			}
			ret = -1;
		}
	}
	idlist_clear(&ids);
	*out = json_object_new_object();
	json_object_object_add(*out, "tenants", json_object_new_int64(c.tenants));
	json_object_object_add(*out, "tenantsAdded", json_object_new_int64(c.tenants_added));
	json_object_object_add(*out, "units", json_object_new_int64(c.units));
	json_object_object_add(*out, "unitsAdded", json_object_new_int64(c.units_added));
	json_object_object_add(*out, "restorePoints", json_object_new_int64(c.points));
	json_object_object_add(*out, "forgotten", json_object_new_int64(c.forgotten));
	json_object_object_add(*out, "failed", json_object_new_int64(c.failed));
	json_object_object_add(*out, "ok", json_object_new_boolean(ret == 0));
	return ret;
}
