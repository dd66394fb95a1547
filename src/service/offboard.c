/* A unit whose source is gone, a tenant's legal hold, and tenant
 * offboarding (docs/privacy.md 6, 7): the API's calls, the checks the rest
 * of the service makes (offboard.h), and the scheduler's purge.
 *
 * The purge runs on the scheduler's node in steps, each recorded with its
 * time in DATA/offboard/<tenant>.json until the certificate is issued:
 * keys (every unit destroyed through svc_unit_destroy_now, then the
 * store's master key slots), objects (everything else in the store, as
 * locks allow: what a lock keeps is tried again an hour later, or when
 * its lock lapses), then the catalog rows. The certificate is signed and
 * kept before the rows go, so a crash in between leaves a tenant to purge
 * again, never a purge without its certificate. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/offboard.h"
#include "service/service.h"
#include "service/views.h"
#include "store/backend.h"
#include "store/store.h"

#define DAY 86400
#define HOUR 3600
#define HOLD_REASON_MAX 1000
#define PROGRESS_MAX (4u << 20)

/* ---- checks the rest of the service makes ---- */

static int offboarding(const struct catalog_tenant *t)
{
	return catalog_tenant_state_of(t->state) == CATALOG_TENANT_OFFBOARDING;
}

int svc_tenant_takes_points(const struct catalog_tenant *t)
{
	return t != NULL && !offboarding(t);
}

int svc_tenant_writable(struct service *s, const char *tenant, const char *what,
			struct error *err)
{
	struct catalog_tenant *t = NULL;
	char due[32];

	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	if (!offboarding(t)) {
		catalog_tenant_free(&t);
		return 0;
	}
	time_format(t->offboard_due, due);
	error_setk(err, ERROR_CONFLICT, "cannot %s: tenant %s is being offboarded and is "
		   "read-only (restores and exports still work); its data is deleted from %s "
		   "unless the offboarding is cancelled", what, t->name, due);
	catalog_tenant_free(&t);
	return -1;
}

char *svc_unit_hold_reason(struct service *s, const struct catalog_unit *u)
{
	struct catalog_tenant *t = NULL;
	struct error ignore;
	char *why = NULL;

	if (u->legal_hold != NULL)
		return xstrdup(u->legal_hold);
	error_init(&ignore);
	if (catalog_tenant_get(svc_catalog(s), u->tenant, &t, &ignore) == 0 &&
	    t->legal_hold != NULL)
		why = xasprintf("tenant: %s", t->legal_hold);
	catalog_tenant_free(&t);
	return why;
}

void svc_unit_source_seen(struct service *s, const char *tenant, const char *unit, int gone)
{
	struct catalog_unit *u = NULL;
	struct json_object *detail;
	struct error err;
	int64_t now = svc_now(s);

	error_init(&err);
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, &err) < 0)
		goto out;
	if ((u->source_gone_since != 0) == (gone != 0))
		goto out;
	if (catalog_unit_set_source_gone(svc_catalog(s), tenant, unit, gone ? now : 0, &err) < 0)
		goto out;
	detail = json_object_new_object();
	if (!gone)
		json_object_object_add(detail, "goneSince",
				       json_object_new_int64(u->source_gone_since));
	json_object_object_add(detail, "name", json_object_new_string(u->name));
	svc_audit(s, NULL, tenant, gone ? "unit.sourceGone" : "unit.sourceBack", unit, detail,
		  &err);
	json_object_put(detail);
	log_info("event=unit.%s tenant=%s unit=%s", gone ? "sourceGone" : "sourceBack", tenant,
		 unit);
out:
	if (err.msg[0])
		log_warn("event=unit.sourceGone tenant=%s unit=%s error=\"%s\"", tenant, unit,
			 err.msg);
	catalog_unit_free(&u);
}

/* ---- the API: legal hold, offboarding, settings ---- */

/* A tenant's admin (config.write) or the global admin (the tenant's
 * settings) may set and release the tenant's hold. */
static int may_hold(const struct svc_principal *p, const char *tenant, struct error *err)
{
	if (svc_authorize(p, tenant, SVC_PERM_TENANT_SETTINGS, err) == 0)
		return 0;
	error_init(err);
	return svc_authorize(p, tenant, SVC_PERM_CONFIG_WRITE, err);
}

int svc_tenant_legal_hold(struct service *s, const struct svc_principal *p, const char *tenant,
			  const char *reason, struct json_object **out, struct error *err)
{
	struct catalog_tenant *t = NULL;
	struct json_object *detail = NULL;
	int ret = -1;

	*out = NULL;
	if (may_hold(p, tenant, err) < 0)
		return -1;
	if (reason != NULL && (reason[0] == '\0' || strlen(reason) > HOLD_REASON_MAX))
		return error_setk(err, ERROR_USAGE, "'reason' must be 1 to %d bytes",
				  HOLD_REASON_MAX);
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	if (reason == NULL && t->legal_hold == NULL) {
		error_setk(err, ERROR_NOTFOUND, "tenant %s has no legal hold", tenant);
		goto out;
	}
	detail = json_object_new_object();
	json_object_object_add(detail, "reason",
			       json_object_new_string(reason ? reason : t->legal_hold));
	if (catalog_tenant_set_legal_hold(svc_catalog(s), tenant, reason, svc_now(s), err) < 0 ||
	    svc_audit(s, p, tenant, reason ? "tenant.legalHold.set" : "tenant.legalHold.release",
		      tenant, detail, err) < 0)
		goto out;
	log_info("event=tenant.legalHold.%s tenant=%s", reason ? "set" : "release", tenant);
	if (reason == NULL) /* erasures the hold held back take effect now */
		svc_erasures_resume(s, tenant);
	catalog_tenant_free(&t);
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		goto out;
	*out = view_tenant(t);
	ret = 0;
out:
	json_object_put(detail);
	catalog_tenant_free(&t);
	return ret;
}

int svc_tenant_offboard(struct service *s, const struct svc_principal *p, const char *tenant,
			struct json_object *in, struct json_object **out, struct error *err)
{
	static const char *const allowed[] = { "confirm", NULL };
	struct catalog_tenant *t = NULL;
	struct json_object *detail = NULL;
	int64_t now = svc_now(s), due;
	const char *confirm;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_TENANT_SETTINGS, err) < 0)
		return -1;
	if (svc_check_object(in, allowed, "an offboarding", err) < 0 ||
	    svc_want_str(in, "confirm", 1, &confirm, err) < 0 ||
	    catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	if (strcmp(confirm, t->name) != 0) {
		error_setk(err, ERROR_USAGE, "'confirm' must be the tenant's name, '%s', to "
			   "offboard it", t->name);
		goto out;
	}
	if (offboarding(t)) {
		error_setk(err, ERROR_CONFLICT, "tenant %s is already being offboarded", t->name);
		goto out;
	}
	due = now + t->offboard_grace_days * DAY;
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(t->name));
	json_object_object_add(detail, "graceDays", json_object_new_int64(t->offboard_grace_days));
	json_object_object_add(detail, "due", json_object_new_int64(due));
	/* The dates first, then the state: a tenant never reads as
	 * offboarding without a due date. */
	if (catalog_tenant_set_offboard(svc_catalog(s), tenant, now, due, err) < 0 ||
	    catalog_tenant_set_state(svc_catalog(s), tenant, CATALOG_TENANT_OFFBOARDING, err) < 0 ||
	    svc_audit(s, p, tenant, "tenant.offboard.request", tenant, detail, err) < 0)
		goto out;
	log_info("event=tenant.offboard.request tenant=%s due=%lld", tenant, (long long)due);
	svc_kick_scheduler(s);
	catalog_tenant_free(&t);
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		goto out;
	*out = view_tenant(t);
	ret = 0;
out:
	json_object_put(detail);
	catalog_tenant_free(&t);
	return ret;
}

static char *progress_path(struct service *s, const char *tenant);

int svc_tenant_offboard_cancel(struct service *s, const struct svc_principal *p,
			       const char *tenant, struct json_object **out, struct error *err)
{
	struct catalog_tenant *t = NULL;
	char *progress = NULL;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_TENANT_SETTINGS, err) < 0)
		return -1;
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	if (!offboarding(t)) {
		error_setk(err, ERROR_NOTFOUND, "tenant %s is not being offboarded", t->name);
		goto out;
	}
	/* Once the purge began (keys destroyed), there is nothing to give
	 * back. */
	progress = progress_path(s, tenant);
	if (access(progress, F_OK) == 0 || svc_now(s) >= t->offboard_due) {
		error_setk(err, ERROR_CONFLICT, "the offboarding of tenant %s can no longer be "
			   "cancelled: its grace period is over", t->name);
		goto out;
	}
	if (catalog_tenant_set_state(svc_catalog(s), tenant, CATALOG_TENANT_ACTIVE, err) < 0 ||
	    catalog_tenant_set_offboard(svc_catalog(s), tenant, 0, 0, err) < 0 ||
	    svc_audit(s, p, tenant, "tenant.offboard.cancel", tenant, NULL, err) < 0)
		goto out;
	log_info("event=tenant.offboard.cancel tenant=%s", tenant);
	svc_kick_scheduler(s);
	catalog_tenant_free(&t);
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		goto out;
	*out = view_tenant(t);
	ret = 0;
out:
	free(progress);
	catalog_tenant_free(&t);
	return ret;
}

int svc_tenant_privacy_update(struct service *s, const struct catalog_tenant *t,
			      struct json_object *in, struct json_object *detail,
			      struct error *err)
{
	int64_t grace = t->offboard_grace_days, delay = t->destroy_delay_days;
	int four = t->erasure_four_eyes;
	struct json_object *v;

	if (svc_want_int(in, "offboardGraceDays", 0, SVC_MAX_DAYS, &grace, err) < 0 ||
	    svc_want_int(in, "destroyDelayDays", 0, SVC_MAX_DAYS, &delay, err) < 0)
		return -1;
	if (json_object_object_get_ex(in, "erasureFourEyes", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_setk(err, ERROR_USAGE, "'erasureFourEyes' must be true or false");
		four = json_object_get_boolean(v);
	}
	if (grace == t->offboard_grace_days && delay == t->destroy_delay_days &&
	    four == t->erasure_four_eyes)
		return 0;
	if (offboarding(t) && grace != t->offboard_grace_days)
		return error_setk(err, ERROR_CONFLICT, "tenant %s is being offboarded: its grace "
				  "period was fixed when it was asked", t->name);
	json_object_object_add(detail, "offboardGraceDays", json_object_new_int64(grace));
	json_object_object_add(detail, "destroyDelayDays", json_object_new_int64(delay));
	json_object_object_add(detail, "erasureFourEyes", json_object_new_boolean(four));
	return catalog_tenant_set_privacy(svc_catalog(s), t->id, four, delay, grace, err);
}

/* ---- the purge's progress (DATA/offboard/<tenant>.json) ---- */

static char *progress_path(struct service *s, const char *tenant)
{
	return xasprintf("%s/offboard/%s.json", svc_cfg(s)->data_dir, tenant);
}

static struct json_object *progress_load(struct service *s, const char *tenant)
{
	char *path = progress_path(s, tenant);
	struct json_object *o = NULL;
	struct error err;
	struct buf b;

	buf_init(&b, PROGRESS_MAX);
	error_init(&err);
	if (fs_read_file(path, &b, PROGRESS_MAX, &err) == 0)
		o = json_tokener_parse((const char *)b.data);
	buf_clear(&b);
	free(path);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o ? o : json_object_new_object();
}

static int progress_save(struct service *s, const char *tenant, struct json_object *o,
			 struct error *err)
{
	char *dir = fs_join(svc_cfg(s)->data_dir, "offboard"), *path = progress_path(s, tenant);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int ret = fs_mkdir_p(dir, err) < 0 ? -1 : fs_write_replace(path, text, strlen(text), err);

	free(dir);
	free(path);
	return ret;
}

static int64_t pint(struct json_object *o, const char *key)
{
	int ok;

	return jsonu_int(o, key, &ok);
}

static void pset(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

/* ---- the purge ---- */

struct wipe {
	struct backend *be;
	const char *folder; /* a folder store's, else NULL */
	uint64_t objects, bytes, locked;
	int64_t locked_until;
	int failed; /* other than a lock: said in the log, tried again */
};

static int wipe_tree(struct wipe *w, const char *dir);

static int collect(void *ctx, const char *name)
{
	struct { char **v; size_t n; } *c = ctx;

	c->v = xrealloc(c->v, xmul(c->n + 1, sizeof(*c->v)));
	c->v[c->n++] = xstrdup(name);
	return 0;
}

/* The names inside `dir` (none for an object, or a folder that is not). */
static size_t list_names(struct backend *be, const char *dir, char ***names_r)
{
	struct { char **v; size_t n; } c = { NULL, 0 };
	struct error ignore;

	error_init(&ignore);
	if (backend_list(be, dir, collect, &c, &ignore) < 0) {
		for (size_t i = 0; i < c.n; i++)
			free(c.v[i]);
		free(c.v);
		c.v = NULL;
		c.n = 0;
	}
	*names_r = c.v;
	return c.n;
}

static void wipe_object(struct wipe *w, const char *name)
{
	struct error err;
	uint64_t size = 0;

	error_init(&err);
	if (backend_size(w->be, name, &size, &err) < 0)
		return; /* gone meanwhile */
	if (backend_remove(w->be, name, &err) == 0) {
		w->objects++;
		w->bytes += size;
		return;
	}
	if (err.code == ERROR_LOCKED) {
		int64_t until = 0;
		int hold = 0;
		struct error ignore;

		error_init(&ignore);
		backend_lock(w->be, name, &until, &hold, &ignore);
		w->locked++;
		if (until > w->locked_until)
			w->locked_until = until;
		return;
	}
	if (w->folder != NULL)
		return; /* a folder of a folder store: the whole folder goes at the end */
	w->failed++;
	log_warn("event=offboard.delete object=%s error=\"%s\"", name, err.msg);
}

static int wipe_tree(struct wipe *w, const char *dir)
{
	char **names = NULL;
	size_t n = list_names(w->be, dir, &names);

	for (size_t i = 0; i < n; i++) {
		char *path = dir[0] ? xasprintf("%s/%s", dir, names[i]) : xstrdup(names[i]);
		char **sub = NULL;
		size_t k = list_names(w->be, path, &sub);

		for (size_t j = 0; j < k; j++)
			free(sub[j]);
		free(sub);
		if (k > 0)
			wipe_tree(w, path);
		else
			wipe_object(w, path);
		free(path);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* Where the store is, for the certificate: the location and the folder,
 * or an S3 spec without its query (which may carry settings). */
static struct json_object *store_place(struct service *s, const struct catalog_tenant *t)
{
	struct json_object *o = json_object_new_object();
	char *folder = svc_tenant_store_folder(s, t), *spec = NULL, *q;
	struct error ignore;

	json_object_object_add(o, "location", json_object_new_string(svc_tenant_location_name(t)));
	error_init(&ignore);
	if (folder == NULL && (spec = svc_tenant_store_spec(s, t, &ignore)) != NULL &&
	    (q = strchr(spec, '?')) != NULL)
		*q = '\0';
	json_object_object_add(o, "place", json_object_new_string(folder ? folder
							     : spec ? spec : "(unknown)"));
	free(folder);
	free(spec);
	return o;
}

/* The restore points a unit had (live and forgotten) and their stored
 * bytes, from the catalog. */
static void unit_counts(struct service *s, const char *tenant, const char *unit,
			int64_t *points_r, int64_t *bytes_r)
{
	struct catalog_rp_filter f = { .include_forgotten = 1 };
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_rp **rps = NULL;
	struct error ignore;
	char after[16];
	size_t n;

	*points_r = 0;
	*bytes_r = 0;
	error_init(&ignore);
	for (;;) {
		if (catalog_rp_list(svc_catalog(s), tenant, unit, &f, &pg, &rps, &n, &ignore) < 0)
			return;
		for (size_t i = 0; i < n; i++) {
			(*points_r)++;
			*bytes_r += (int64_t)rps[i]->stored_bytes;
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%u", rps[n - 1]->seq);
		CATALOG_LIST_FREE(rps, n, catalog_rp_free);
		if (n < 1000)
			break;
		pg.after = after;
	}
}

/* Step 1a: every unit destroyed (its key, then its objects), each with its
 * record. 0 when all are done; 1 when one is kept by a lock (tried again
 * later). Units svc_unit_destroy_now cannot destroy otherwise are covered
 * by the master key's destruction (step 1b): nothing of them decrypts
 * without it, and step 2 deletes their objects. */
static int destroy_units(struct service *s, const char *tenant, struct json_object *prog,
			 int64_t now)
{
	struct catalog_page pg = { .limit = 1000 };
	struct json_object *units, *rec;
	struct catalog_unit **us = NULL;
	struct error err;
	size_t n = 0;
	int later = 0;

	if (!json_object_object_get_ex(prog, "units", &units)) {
		units = json_object_new_object();
		json_object_object_add(prog, "units", units);
	}
	error_init(&err);
	if (catalog_unit_list(svc_catalog(s), tenant, NULL, &pg, &us, &n, &err) < 0) {
		log_warn("event=offboard.units tenant=%s error=\"%s\"", tenant, err.msg);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t points, bytes;

		if (json_object_object_get_ex(units, us[i]->id, NULL))
			continue;
		unit_counts(s, tenant, us[i]->id, &points, &bytes);
		rec = NULL;
		error_init(&err);
		if (svc_unit_destroy_now(s, tenant, us[i]->id, &rec, &err) < 0) {
			if (err.code == ERROR_LOCKED) {
				log_info("event=offboard.unit_locked tenant=%s unit=%s reason=\"%s\"",
					 tenant, us[i]->id, err.msg);
				json_object_put(rec);
				later = 1;
				continue;
			}
			log_info("event=offboard.unit tenant=%s unit=%s detail=\"%s; the master key's "
				 "destruction covers it\"", tenant, us[i]->id, err.msg);
			json_object_put(rec);
			rec = json_object_new_object();
			json_object_object_add(rec, "keyDestroyed", json_object_new_int64(0));
		}
		json_object_object_add(rec, "id", json_object_new_string(us[i]->id));
		json_object_object_add(rec, "name", json_object_new_string(us[i]->name));
		json_object_object_add(rec, "kind", json_object_new_string(us[i]->kind));
		if (!json_object_object_get_ex(rec, "restorePoints", NULL))
			pset(rec, "restorePoints", points);
		pset(rec, "restorePointsTaken", points); /* forgotten ones too */
		pset(rec, "storedBytes", bytes);
		pset(rec, "destroyed", now);
		json_object_object_add(units, us[i]->id, rec);
	}
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	return later;
}

/* Step 1b and 2: the master key slots first (keys/), then every other
 * object. 0 when the store is empty; 1 when a lock keeps something. */
static int wipe_store(struct service *s, const struct catalog_tenant *t,
		      struct json_object *prog, int keys_only)
{
	struct wipe w = { 0 };
	struct error err;
	char *spec, *folder = NULL;
	int ret = 1;

	error_init(&err);
	spec = svc_tenant_store_spec(s, t, &err);
	if (spec == NULL || (w.be = backend_open(spec, BACKEND_ALLOW_DELETE, &err)) == NULL) {
		log_warn("event=offboard.store tenant=%s error=\"%s\"", t->id, err.msg);
		free(spec);
		return 1;
	}
	free(spec);
	folder = svc_tenant_store_folder(s, t);
	w.folder = folder;
	wipe_tree(&w, "keys");
	if (!keys_only) {
		char **names = NULL;
		size_t n = list_names(w.be, "", &names);

		/* config last: until then the folder still reads as a store. */
		for (size_t i = 0; i < n; i++) {
			if (strcmp(names[i], "config") != 0)
				wipe_tree(&w, names[i]);
			free(names[i]);
		}
		free(names);
		if (w.locked == 0 && w.failed == 0)
			wipe_object(&w, "config");
	}
	pset(prog, "objects", pint(prog, "objects") + (int64_t)w.objects);
	pset(prog, "bytes", pint(prog, "bytes") + (int64_t)w.bytes);
	pset(prog, "objectsLocked", (int64_t)w.locked);
	pset(prog, "lockedUntil", w.locked_until);
	if (w.locked == 0 && w.failed == 0) {
		ret = 0;
		if (!keys_only && folder != NULL && fs_remove_tree(folder, &err) < 0) {
			log_warn("event=offboard.store tenant=%s error=\"%s\"", t->id, err.msg);
			ret = 1;
		}
	}
	free(folder);
	backend_close(&w.be);
	return ret;
}

/* What the service keeps of the tenant beside the catalog: the search
 * index, the descriptors, the store's cache. */
static void remove_local(struct service *s, const char *tenant, struct json_object *prog)
{
	char *p = xasprintf("%s/search/%s.db", svc_cfg(s)->data_dir, tenant);
	const char *cache = jsonu_str(prog, "cache");
	struct error ignore;

	error_init(&ignore);
	unlink(p);
	free(p);
	p = xasprintf("%s/search/%s.db-wal", svc_cfg(s)->data_dir, tenant);
	unlink(p);
	free(p);
	p = xasprintf("%s/search/%s.db-shm", svc_cfg(s)->data_dir, tenant);
	unlink(p);
	free(p);
	p = svc_tenant_meta_dir(s, tenant);
	fs_remove_tree(p, &ignore);
	free(p);
	if (cache && cache[0])
		fs_remove_tree(cache, &ignore);
}

static struct json_object *certificate_body(struct service *s, const struct catalog_tenant *t,
					    struct json_object *prog, int64_t now)
{
	struct json_object *b = json_object_new_object(), *o, *units, *arr;
	int64_t points = 0, objects = pint(prog, "objects"), bytes = pint(prog, "bytes");

	json_object_object_add(b, "kind", json_object_new_string("tenantOffboarding"));
	pset(b, "issued", now);
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string("coffer"));
	json_object_object_add(o, "node", json_object_new_string(svc_node(s)));
	json_object_object_add(b, "issuer", o);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(t->id));
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(b, "tenant", o);
	json_object_object_add(b, "store", json_object_get(json_object_object_get(prog, "store")));
	arr = json_object_new_array();
	if (json_object_object_get_ex(prog, "units", &units)) {
		json_object_object_foreach(units, id, rec) {
			struct json_object *u = json_object_new_object();
			int ok;

			(void)id;
			json_object_object_foreach(rec, k, v) {
				/* Whole numbers and strings only (the canonical
				 * form has no floating point). */
				if (json_object_is_type(v, json_type_double))
					continue;
				json_object_object_add(u, k, json_object_get(v));
			}
			points += jsonu_int(rec, "restorePoints", &ok);
			objects += jsonu_int(rec, "objects", &ok);
			bytes += jsonu_int(rec, "bytes", &ok);
			json_object_array_add(arr, u);
		}
	}
	json_object_object_add(b, "units", arr);
	o = json_object_new_object();
	pset(o, "units", (int64_t)json_object_array_length(arr));
	pset(o, "restorePoints", points);
	pset(o, "objects", objects);
	pset(o, "bytes", bytes);
	json_object_object_add(b, "totals", o);
	o = json_object_new_object();
	pset(o, "requested", t->offboard_requested);
	pset(o, "graceEnded", t->offboard_due);
	pset(o, "keysDestroyed", pint(prog, "keysDestroyed"));
	pset(o, "objectsDeleted", pint(prog, "objectsDeleted"));
	pset(o, "catalogPurged", now);
	json_object_object_add(b, "steps", o);
	json_object_object_add(b, "method", json_object_new_string(
		"cryptographic erase: every unit key and the store's master key slots were "
		"destroyed first, so nothing of the tenant decrypts again; then every object "
		"of the store was deleted and the service's catalog rows of the tenant purged"));
	json_object_object_add(b, "standard", json_object_new_string(
		"NIST SP 800-88 Rev. 1, purge by cryptographic erase (section 2.6)"));
	json_object_object_add(b, "kept", json_object_new_string(
		"the tenant's audit log entries (append-only) and this certificate"));
	return b;
}

/* When to try a step again: an hour later, or when the lock that kept
 * something lapses if that is sooner. */
static int64_t retry_at(struct json_object *prog, int64_t now)
{
	int64_t until = pint(prog, "lockedUntil");

	return until > now && until < now + HOUR ? until : now + HOUR;
}

/* Step 3: certificate, catalog rows, local files. */
static int finish(struct service *s, const struct catalog_tenant *t, struct json_object *prog,
		  int64_t now, struct error *err)
{
	struct json_object *body, *detail;
	char *id = NULL, *path;
	int ret = -1;

	body = certificate_body(s, t, prog, now);
	if (svc_certificate_issue(s, t->id, t->id, body, &id, err) < 0)
		goto out;
	if (catalog_tenant_purge(svc_catalog(s), t->id, err) < 0)
		goto out;
	remove_local(s, t->id, prog);
	path = progress_path(s, t->id);
	unlink(path);
	free(path);
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(t->name));
	json_object_object_add(detail, "certificate", json_object_new_string(id));
	svc_audit(s, NULL, t->id, "tenant.offboard.done", t->id, detail, err);
	json_object_put(detail);
	log_info("event=tenant.offboard.done tenant=%s certificate=%s", t->id, id);
	ret = 0;
out:
	free(id);
	json_object_put(body);
	return ret;
}

/* Whether a unit of the tenant is under a legal hold (the purge waits for
 * it as for the tenant's own); 1 also when the units cannot be read. */
static int units_held(struct service *s, const char *tenant)
{
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_unit **us = NULL;
	struct error err;
	char *after = NULL;
	size_t n = 0;
	int held = 0;

	error_init(&err);
	for (;;) {
		pg.after = after;
		if (catalog_unit_list(svc_catalog(s), tenant, NULL, &pg, &us, &n, &err) < 0) {
			held = 1;
			break;
		}
		for (size_t i = 0; i < n && !held; i++)
			held = us[i]->legal_hold != NULL;
		free(after);
		after = n ? xstrdup(us[n - 1]->id) : NULL;
		CATALOG_LIST_FREE(us, n, catalog_unit_free);
		if (n < 1000 || held)
			break;
	}
	free(after);
	return held;
}

void svc_offboard_tick(struct service *s, const struct catalog_tenant *t, int64_t now)
{
	struct json_object *prog = NULL;
	struct error err;

	if (!offboarding(t) || t->offboard_due == 0 || now < t->offboard_due)
		return;
	if (t->legal_hold != NULL)
		return; /* shown on the tenant; the purge waits for the release */
	error_init(&err);
	prog = progress_load(s, t->id);
	/* A unit's legal hold keeps everything too, until the purge began. */
	if (pint(prog, "keysDestroyed") == 0 && units_held(s, t->id)) {
		json_object_put(prog);
		return;
	}
	if (pint(prog, "keysDestroyed") == 0) {
		if (!json_object_object_get_ex(prog, "store", NULL)) {
			struct store *st = svc_tenant_store(s, t->id, 0, &err);

			json_object_object_add(prog, "store", store_place(s, t));
			json_object_object_add(prog, "cache", json_object_new_string(
				st ? store_cache_dir(st) : ""));
			store_close(&st);
			error_init(&err);
			svc_audit(s, NULL, t->id, "tenant.offboard.start", t->id, NULL, &err);
		}
		/* What a lock or a failure kept is tried again later, not at
		 * every tick. */
		if (now < pint(prog, "nextTry"))
			goto out;
		if (destroy_units(s, t->id, prog, now) != 0 ||
		    wipe_store(s, t, prog, 1) != 0) {
			pset(prog, "nextTry", retry_at(prog, now));
			goto save;
		}
		pset(prog, "keysDestroyed", now);
		pset(prog, "nextTry", 0);
		log_info("event=tenant.offboard.keys tenant=%s", t->id);
	}
	if (pint(prog, "objectsDeleted") == 0) {
		if (now < pint(prog, "nextTry"))
			goto out;
		if (wipe_store(s, t, prog, 0) != 0) {
			pset(prog, "nextTry", retry_at(prog, now));
			goto save;
		}
		pset(prog, "objectsDeleted", now);
		log_info("event=tenant.offboard.objects tenant=%s objects=%lld", t->id,
			 (long long)pint(prog, "objects"));
	}
	if (progress_save(s, t->id, prog, &err) < 0 || finish(s, t, prog, now, &err) < 0)
		log_warn("event=tenant.offboard tenant=%s error=\"%s\"", t->id, err.msg);
	json_object_put(prog);
	return;
save:
	error_init(&err);
	if (progress_save(s, t->id, prog, &err) < 0)
		log_warn("event=tenant.offboard tenant=%s error=\"%s\"", t->id, err.msg);
out:
	json_object_put(prog);
}
