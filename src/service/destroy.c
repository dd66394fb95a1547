/* Destroying a protection unit (docs/privacy.md 5): crypto-shredding.
 * A request (confirmed with the unit's name) stops its backups and falls
 * due after the tenant's destroy delay; then a "destroy" job evicts what
 * the service holds of the unit in plain text (the search index rows, the
 * store's cache folder), erases the unit's key in the store and deletes
 * its objects as locks allow (store_unit_destroy), and marks the unit
 * destroyed with its restore points forgotten. A legal hold on the unit or
 * its tenant refuses the request and holds back a pending destruction. */
#include <errno.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "engine/mailindex.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "store/backend.h"
#include "store/store.h"

#define DAY 86400
/* A destruction a lock refused is tried again this long after (or when the
 * lock ends, if the store says when). */
#define DESTROY_RETRY_S DAY

static void time_text(int64_t t, char out[40])
{
	backend_lock_date(t, out, 40);
}

/* The hold that stops a destruction, or NULL. */
static const char *hold_of(const struct catalog_tenant *t, const struct catalog_unit *u)
{
	if (u->legal_hold != NULL)
		return "the unit is under a legal hold";
	if (t->legal_hold != NULL)
		return "its tenant is under a legal hold";
	return NULL;
}

static int is_destroyed(const struct catalog_unit *u)
{
	return catalog_unit_state_of(u->state) == CATALOG_UNIT_DESTROYED;
}

/* ---- the request and its cancellation ---- */

static int confirm_check(struct json_object *in, const struct catalog_unit *u, struct error *err)
{
	struct json_object *v = NULL;

	if (in == NULL || !json_object_object_get_ex(in, "confirm", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), u->name) != 0)
		return error_setk(err, ERROR_USAGE, "destroying unit %s needs \"confirm\": its "
				  "name (\"%s\"): nothing of it can be restored afterwards", u->id,
				  u->name);
	return 0;
}

int svc_unit_destroy(struct service *s, const struct svc_principal *p, const char *tenant,
		     const char *unit, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	struct catalog_tenant *t = NULL;
	struct catalog_unit *u = NULL;
	struct json_object *detail = NULL;
	const char *hold;
	int64_t now = svc_now(s), due;
	char date[40];
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONFIG_WRITE, err) < 0)
		return -1;
	svc_lock(s);
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0 ||
	    confirm_check(in, u, err) < 0)
		goto out;
	if (is_destroyed(u)) {
		time_text(u->destroy_due, date);
		error_setk(err, ERROR_EXISTS, "unit %s was destroyed on %s", u->id, date);
		goto out;
	}
	if (u->destroy_requested) {
		time_text(u->destroy_due, date);
		error_setk(err, ERROR_EXISTS, "unit %s is already to be destroyed on %s (cancel it "
			   "with DELETE .../destroy)", u->id, date);
		goto out;
	}
	if ((hold = hold_of(t, u)) != NULL) {
		error_setk(err, ERROR_EXISTS, "unit %s cannot be destroyed: %s (%s); release "
			   "the hold first", u->id, hold, u->legal_hold ? u->legal_hold
			   : t->legal_hold);
		goto out;
	}
	due = now + t->destroy_delay_days * DAY;
	if (catalog_unit_set_destroy(svc_catalog(s), tenant, u->id, now, due, err) < 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(u->name));
	time_text(due, date);
	json_object_object_add(detail, "due", json_object_new_string(date));
	json_object_object_add(detail, "delayDays", json_object_new_int64(t->destroy_delay_days));
	if (svc_audit(s, p, tenant, "unit.destroy.request", u->id, detail, err) < 0)
		goto out;
	log_info("event=unit.destroy.request tenant=%s unit=%s due=%s", tenant, u->id, date);
	catalog_unit_free(&u);
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		goto out;
	*out = view_unit(u);
	ret = 0;
out:
	svc_unlock(s);
	json_object_put(detail);
	catalog_unit_free(&u);
	catalog_tenant_free(&t);
	return ret;
}

int svc_unit_destroy_cancel(struct service *s, const struct svc_principal *p, const char *tenant,
			    const char *unit, struct json_object **out, struct error *err)
{
	struct catalog_unit *u = NULL;
	struct json_object *detail = NULL;
	char date[40];
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONFIG_WRITE, err) < 0)
		return -1;
	svc_lock(s);
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		goto out;
	if (is_destroyed(u)) {
		time_text(u->destroy_due, date);
		error_setk(err, ERROR_EXISTS, "unit %s was destroyed on %s: too late to cancel",
			   u->id, date);
		goto out;
	}
	if (u->destroy_requested == 0) {
		error_setk(err, ERROR_NOTFOUND, "unit %s has no destruction to cancel", u->id);
		goto out;
	}
	if (catalog_unit_set_destroy(svc_catalog(s), tenant, u->id, 0, 0, err) < 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(u->name));
	time_text(u->destroy_due, date);
	json_object_object_add(detail, "wasDue", json_object_new_string(date));
	if (svc_audit(s, p, tenant, "unit.destroy.cancel", u->id, detail, err) < 0)
		goto out;
	log_info("event=unit.destroy.cancel tenant=%s unit=%s", tenant, u->id);
	catalog_unit_free(&u);
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		goto out;
	*out = view_unit(u);
	ret = 0;
out:
	svc_unlock(s);
	json_object_put(detail);
	catalog_unit_free(&u);
	return ret;
}

/* ---- the destruction ---- */

/* The tenant's search index keeps messages' text in plain: the unit's rows
 * go, and the file is rewritten so the freed pages do not keep them. */
static int search_evict(struct service *s, const char *tenant, const char *unit,
			struct error *err)
{
	char *path = xasprintf("%s/search/%s.db", svc_cfg(s)->data_dir, tenant);
	struct mailindex *mi = NULL;
	struct mailindex_stats st = { 0 };
	sqlite3 *db = NULL;
	char *msg = NULL;
	int ret = -1;

	if (access(path, F_OK) != 0) {
		ret = 0;
		goto out;
	}
	mi = mailindex_open(path, err);
	if (mi == NULL || mailindex_drop_missing(mi, unit, NULL, 0, &st, err) < 0) {
		error_prefix(err, "search index of tenant %s", tenant);
		goto out;
	}
	mailindex_close(&mi);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
	    sqlite3_exec(db, "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, &msg) !=
		    SQLITE_OK) {
		error_setk(err, ERROR_FAIL, "search index %s: rewriting it without unit %s failed: "
			   "%s", path, unit, msg ? msg : sqlite3_errmsg(db));
		goto out;
	}
	log_info("event=unit.destroy.search tenant=%s unit=%s points=%llu", tenant, unit,
		 (unsigned long long)st.dropped);
	ret = 0;
out:
	sqlite3_free(msg);
	sqlite3_close(db);
	mailindex_close(&mi);
	free(path);
	return ret;
}

/* Every restore point row of the unit forgotten: none is offered again. */
static int points_forget(struct service *s, const char *tenant, const char *unit, size_t *n_r,
			 struct error *err)
{
	struct catalog_rp **rps = NULL;
	size_t n = 0, i;
	int ret = 0;

	*n_r = 0;
	if (svc_live_points(s, tenant, unit, &rps, &n, err) < 0)
		return -1;
	for (i = 0; i < n && ret == 0; i++) {
		if (!rps[i]->forgotten)
			(*n_r)++;
		ret = catalog_rp_mark_forgotten(svc_catalog(s), tenant, unit, rps[i]->seq, err);
	}
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	return ret;
}

/* The unit's row: destroyed at `when` (kept in destroy_due), no policy. */
static int unit_mark_destroyed(struct service *s, const char *tenant, const char *unit,
			       int64_t when, struct error *err)
{
	struct catalog_unit *u = NULL;
	int ret = -1;

	svc_lock(s);
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		goto out;
	free(u->state);
	u->state = xstrdup(catalog_unit_state_name(CATALOG_UNIT_DESTROYED));
	free(u->policy);
	u->policy = NULL;
	u->next_due = 0;
	if (catalog_unit_update(svc_catalog(s), u, err) < 0 ||
	    catalog_unit_set_destroy(svc_catalog(s), tenant, unit,
				     u->destroy_requested ? u->destroy_requested : when, when,
				     err) < 0)
		goto out;
	ret = 0;
out:
	svc_unlock(s);
	catalog_unit_free(&u);
	return ret;
}

/* Its descriptor (DATA/tenants/<t>/units/<id>.json) goes too: a catalog
 * rebuild must not bring the unit back as one to back up. */
static int descriptor_remove(struct service *s, const char *tenant, const char *unit,
			     struct error *err)
{
	char *dir = svc_tenant_meta_dir(s, tenant);
	char *path = xasprintf("%s/units/%s.json", dir, unit);
	int ret = 0;

	if (unlink(path) < 0 && errno != ENOENT)
		ret = error_sys(err, "unlink(%s) failed", path);
	free(path);
	free(dir);
	return ret;
}

static struct json_object *record_of(const struct catalog_unit *u, const char *uid,
				     size_t points, const struct store_destroy_result *r)
{
	struct json_object *o = json_object_new_object();
	char date[40];

	json_object_object_add(o, "unit", json_object_new_string(u->id));
	json_object_object_add(o, "uid", json_object_new_string(uid));
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "restorePoints", json_object_new_int64((int64_t)points));
	json_object_object_add(o, "objects", json_object_new_int64((int64_t)r->rec.objects));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)r->rec.bytes));
	json_object_object_add(o, "objectsDeleted", json_object_new_int64((int64_t)r->deleted));
	json_object_object_add(o, "objectsLocked", json_object_new_int64((int64_t)r->locked));
	if (r->locked_until) {
		time_text(r->locked_until, date);
		json_object_object_add(o, "lockedUntil", json_object_new_string(date));
	}
	time_text(r->rec.time, date);
	json_object_object_add(o, "keyDestroyed", json_object_new_string(date));
	json_object_object_add(o, "method", json_object_new_string("cryptographic erase"));
	return o;
}

/* Its store's part, with the deletion key (svc_tenant_store). */
static int store_part(struct service *s, const char *tenant, const char *unit, char uid[33],
		      struct store_destroy_result *res, struct error *err)
{
	struct store *st = svc_tenant_store(s, tenant, BACKEND_ALLOW_DELETE, err);
	int ret;

	if (st == NULL)
		return error_prefix(err, "destroying unit %s", unit);
	store_set_actor(st, "service");
	store_unit_uid(st, unit, uid);
	ret = store_unit_destroy(st, unit, svc_now(s), res, err);
	store_close(&st);
	return ret;
}

int svc_unit_destroy_now(struct service *s, const char *tenant, const char *unit_id,
			 struct json_object **record, struct error *err)
{
	struct store_destroy_result res = { 0 };
	struct catalog_unit *u = NULL;
	struct json_object *rec = NULL;
	char uid[33] = "";
	size_t points = 0;
	int ret = -1;

	if (record)
		*record = NULL;
	if (catalog_unit_get(svc_catalog(s), tenant, unit_id, &u, err) < 0)
		return -1;
	/* What the service keeps in plain text goes first: a failure later
	 * leaves nothing readable behind, and the next run finishes. */
	if (search_evict(s, tenant, u->id, err) < 0)
		goto out;
	if (store_part(s, tenant, u->id, uid, &res, err) < 0) {
		/* Never backed up: the store has no key of it (and no record), so
		 * there is nothing to erase there. */
		if (err->code != ERROR_NOTFOUND || uid[0] == '\0')
			goto out;
		log_info("event=unit.destroy.nokey tenant=%s unit=%s msg=\"%s\"", tenant, u->id,
			 err->msg);
		error_init(err);
		memset(&res, 0, sizeof(res));
		res.rec.time = svc_now(s);
	}
	if (points_forget(s, tenant, u->id, &points, err) < 0 ||
	    unit_mark_destroyed(s, tenant, u->id, res.rec.time, err) < 0 ||
	    descriptor_remove(s, tenant, u->id, err) < 0)
		goto out;
	rec = record_of(u, uid, points, &res);
	if (svc_audit(s, NULL, tenant, "unit.destroy.done", u->id, rec, err) < 0)
		goto out;
	log_info("event=unit.destroy.done tenant=%s unit=%s objects=%llu deleted=%llu locked=%llu",
		 tenant, u->id, (unsigned long long)res.rec.objects,
		 (unsigned long long)res.deleted, (unsigned long long)res.locked);
	if (record) {
		*record = rec;
		rec = NULL;
	}
	ret = 0;
out:
	json_object_put(rec);
	store_destroyed_clear(&res.rec);
	catalog_unit_free(&u);
	return ret;
}

/* ---- the scheduler's part and the job ---- */

/* Due, not destroyed yet, and held by nothing: 1; else 0. */
static int destroy_ready(struct service *s, const struct catalog_unit *u, int64_t now)
{
	struct catalog_tenant *t = NULL;
	struct error err;
	int ready;

	if (u->destroy_due == 0 || u->destroy_due > now || is_destroyed(u))
		return 0;
	error_init(&err);
	if (catalog_tenant_get(svc_catalog(s), u->tenant, &t, &err) < 0)
		return 0;
	ready = hold_of(t, u) == NULL;
	catalog_tenant_free(&t);
	return ready;
}

int svc_destroy_job_run(struct service *s, const struct catalog_job *j, struct error *err)
{
	struct catalog_unit *u = NULL;
	int ready, ret;

	if (catalog_unit_get(svc_catalog(s), j->tenant, j->unit, &u, err) < 0)
		return -1;
	ready = destroy_ready(s, u, svc_now(s));
	catalog_unit_free(&u);
	if (!ready) {
		/* Cancelled, or a hold came since it was queued. */
		log_info("event=unit.destroy.skip tenant=%s unit=%s", j->tenant, j->unit);
		return 0;
	}
	ret = svc_unit_destroy_now(s, j->tenant, j->unit, NULL, err);
	if (ret < 0 && err->code == ERROR_LOCKED) {
		/* The key's lock ends later: try again then (or in a day). */
		struct error ignored;

		error_init(&ignored);
		svc_lock(s);
		if (catalog_unit_get(svc_catalog(s), j->tenant, j->unit, &u, &ignored) == 0)
			catalog_unit_set_destroy(svc_catalog(s), j->tenant, j->unit,
						 u->destroy_requested,
						 svc_now(s) + DESTROY_RETRY_S, &ignored);
		svc_unlock(s);
		catalog_unit_free(&u);
	}
	return ret;
}

void svc_destroy_tick(struct service *s, int64_t now)
{
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_unit **us = NULL;
	struct error err;
	char *after = NULL;
	size_t n = 0, i;
	int64_t id;

	error_init(&err);
	for (;;) {
		pg.after = after;
		if (catalog_unit_list(svc_catalog(s), NULL, NULL, &pg, &us, &n, &err) < 0) {
			log_warn("event=unit.destroy.schedule error=\"%s\"", err.msg);
			break;
		}
		for (i = 0; i < n; i++) {
			if (!destroy_ready(s, us[i], now))
				continue;
			if (svc_job_queue(s, us[i]->tenant, us[i]->id, CATALOG_JOB_DESTROY, now, &id,
					  &err) < 0) {
				/* One is queued already (jobs_one_active). */
				if (err.code != ERROR_EXISTS)
					log_warn("event=unit.destroy.schedule unit=%s error=\"%s\"",
						 us[i]->id, err.msg);
				error_init(&err);
				continue;
			}
			svc_kick_workers(s);
		}
		free(after);
		after = n ? xstrdup(us[n - 1]->id) : NULL;
		CATALOG_LIST_FREE(us, n, catalog_unit_free);
		if (n < 1000)
			break;
	}
	free(after);
}
