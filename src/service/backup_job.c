/* Backup jobs: take a restore point of one unit through its source, mirror
 * it into the catalog, and keep the unit's schedule (failures, back-off,
 * last error). Also on-demand backups and the catalog mirror of restore
 * points (svc_rp_record). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "engine/point_writer.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/offboard.h"
#include "service/service.h"
#include "service/views.h"
#include "sources/source.h"
#include "store/rp.h"
#include "store/store.h"

#define MINUTE 60
#define DAY 86400

int64_t svc_backoff_s(int failures, int64_t frequency_s)
{
	int64_t d = MINUTE;

	for (int i = 1; i < failures && d < frequency_s; i++)
		d *= 2;
	return frequency_s > 0 && d > frequency_s ? frequency_s : d;
}

int svc_rp_record_unit(struct service *s, struct store_unit *su, const char *tenant,
		       uint32_t seq, int64_t changed, struct error *err)
{
	struct catalog_rp row = { 0 }, *old = NULL;
	struct error ignore;
	struct rp *rp = NULL;
	char hash[65];
	int ret;

	if (rp_read(su, seq, &rp, err) < 0)
		return -1;
	hex_encode(rp->hash, 32, hash);
	row.tenant = svc_in(tenant);
	row.unit = svc_in(store_unit_name(su));
	row.seq = seq;
	row.time_ns = rp->time_ns;
	row.hash = hash;
	row.files = rp->stats.files;
	row.bytes = rp->stats.bytes;
	row.new_bytes = rp->stats.new_bytes;
	row.stored_bytes = rp->stats.stored_bytes;
	row.incompressible_bytes = rp->stats.incompressible_bytes;
	row.nwarnings = (int)rp->nwarnings;
	row.keep_until = rp->keep_until;
	row.retain_until = rp->retain_until;
	if (changed >= 0) {
		row.changed_entries = (uint64_t)changed;
	} else if (changed == SVC_CHANGED_ALL) {
		row.changed_entries = rp->stats.files + rp->stats.dirs;
	} else {
		error_init(&ignore);
		if (catalog_rp_get(svc_catalog(s), tenant, row.unit, seq, &old, &ignore) == 0)
			row.changed_entries = old->changed_entries;
	}
	ret = catalog_rp_put(svc_catalog(s), &row, err);
	catalog_rp_free(&old);
	rp_free(&rp);
	return ret;
}

int svc_rp_record(struct service *s, const char *tenant, const char *unit, uint32_t seq,
		  struct error *err)
{
	struct store *st = svc_tenant_store(s, tenant, 0, err);
	struct store_unit *su;
	int ret = -1;

	if (st == NULL)
		return -1;
	su = store_unit_open(st, unit, 0, err);
	if (su) {
		ret = svc_rp_record_unit(s, su, tenant, seq, -1, err);
		store_unit_close(&su);
	}
	store_close(&st);
	return ret;
}

static void set_detail(struct service *s, const struct catalog_job *j,
		       const struct source_backup_result *res)
{
	struct json_object *d = json_object_new_object();
	struct error err;

	json_object_object_add(d, "restorePoint", json_object_new_int64(res->seq));
	json_object_object_add(d, "items", json_object_new_int64((int64_t)res->items));
	json_object_object_add(d, "bytes", json_object_new_int64((int64_t)res->bytes));
	json_object_object_add(d, "newBytes", json_object_new_int64((int64_t)res->new_bytes));
	json_object_object_add(d, "storedBytes", json_object_new_int64((int64_t)res->stored_bytes));
	json_object_object_add(d, "changedItems", json_object_new_int64((int64_t)res->changed_items));
	json_object_object_add(d, "warnings", json_object_new_int64((int64_t)res->nwarnings));
	error_init(&err);
	if (catalog_job_set_detail(svc_catalog(s), j->id, NULL, 0,
				   json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
				   &err) < 0)
		log_warn("event=job.detail job=%lld error=\"%s\"", (long long)j->id, err.msg);
	json_object_put(d);
}

int svc_backup_job_run(struct service *s, const struct catalog_job *j, struct error *err)
{
	const struct point_fence fence = { svc_job_fence_check, s };
	struct source_backup_opts o = { .unit = j->unit, .quiet = 1, .fence = &fence };
	struct source_backup_result res = { 0 };
	const struct source_ops *ops;
	struct catalog_unit *u = NULL;
	struct json_object *src = NULL;
	struct store_unit *su = NULL;
	struct store *st = NULL;
	int64_t recent, retention;
	char *beneath = NULL;
	int ret = -1;

	/* A job queued before the tenant's offboarding began takes no point
	 * (docs/privacy.md 7). */
	if (svc_tenant_writable(s, j->tenant, "take a restore point", err) < 0 ||
	    catalog_unit_get(svc_catalog(s), j->tenant, j->unit, &u, err) < 0)
		return -1;
	if (u->destroy_requested) { /* docs/privacy.md 5 */
		error_setk(err, ERROR_CONFLICT, "unit %s is to be destroyed: it takes no more "
			   "restore points", u->id);
		goto out;
	}
	src = svc_unit_source_open(s, u, err);
	if (src == NULL)
		goto out;
	ops = source_find(src, err);
	if (ops == NULL)
		goto out;
	/* With folder_root, nothing below the tenant's folder is opened
	 * through a symbolic link, whenever it was planted. */
	if (svc_folder_beneath(s, j->tenant, &beneath, err) < 0)
		goto out;
	o.beneath = beneath;
	st = svc_tenant_store(s, j->tenant, 0, err);
	if (st == NULL)
		goto out;
	o.source = src;
	o.time_ns = svc_now(s) * 1000000000LL;
	o.netpolicy = svc_netpolicy(s);
	/* The point's own dates, fixed now: a policy changed later cannot
	 * shorten them (docs/service.md "Expiry"). */
	svc_unit_retention(s, u, &recent, &retention);
	o.keep_seconds = recent * DAY;
	o.retain_seconds = retention * DAY;
	/* What was deleted from the store since the last job, by whoever
	 * held the deletion key, reaches the audit log. */
	svc_deletions_import(s, j->tenant, j->unit, st);
	if (ops->backup(st, &o, &res, err) < 0) {
		/* The folder or the collection is not there (an account
		 * removed): docs/privacy.md 6. */
		if (err->code == ERROR_NOTFOUND)
			svc_unit_source_seen(s, j->tenant, j->unit, 1);
		goto out;
	}
	if (u->source_gone_since != 0)
		svc_unit_source_seen(s, j->tenant, j->unit, 0);
	su = store_unit_open(st, j->unit, 0, err);
	if (su == NULL || svc_rp_record_unit(s, su, j->tenant, res.seq, (int64_t)res.changed_items,
					     err) < 0) {
		error_prefix(err, "restore point %s@%u was taken but not recorded", j->unit, res.seq);
		goto out;
	}
	set_detail(s, j, &res);
	if (catalog_kind_of(u->kind) == CATALOG_KIND_MAILBOX) /* search.c: shown, not fatal */
		svc_mail_index_point(s, j->tenant, j->unit, res.seq, j->id);
	log_info("event=backup.done tenant=%s unit=%s restore_point=%u items=%llu bytes=%llu "
		 "new_bytes=%llu", j->tenant, j->unit, res.seq, (unsigned long long)res.items,
		 (unsigned long long)res.bytes, (unsigned long long)res.new_bytes);
	ret = 0;
out:
	store_unit_close(&su);
	store_close(&st);
	json_object_put(src);
	catalog_unit_free(&u);
	free(beneath);
	return ret;
}

void svc_unit_backup_done(struct service *s, const struct catalog_job *j, int64_t started,
			  const char *error)
{
	struct catalog_policy *p = NULL;
	struct catalog_unit *u = NULL;
	int64_t freq = 0;
	struct error err;

	error_init(&err);
	svc_lock(s);
	if (catalog_unit_get(svc_catalog(s), j->tenant, j->unit, &u, &err) < 0)
		goto out;
	if (u->policy && catalog_policy_get(svc_catalog(s), j->tenant, u->policy, &p, &err) == 0)
		freq = p->frequency_s;
	error_init(&err);
	u->last_attempt = started;
	free(u->last_error);
	u->last_error = NULL;
	if (error == NULL) {
		u->failures = 0;
		u->last_success = started;
		u->next_due = freq > 0 ? started + freq : 0;
		if (catalog_unit_state_of(u->state) == CATALOG_UNIT_ACTIVATING) {
			free(u->state);
			u->state = xstrdup(catalog_unit_state_name(CATALOG_UNIT_PROTECTED));
		}
	} else {
		u->failures++;
		u->last_error = xstrdup(error);
		u->next_due = freq > 0 ? started + svc_backoff_s(u->failures, freq) : 0;
	}
	catalog_unit_update(svc_catalog(s), u, &err);
out:
	svc_unlock(s);
	if (err.msg[0])
		log_warn("event=unit.update tenant=%s unit=%s error=\"%s\"", j->tenant, j->unit,
			 err.msg);
	catalog_policy_free(&p);
	catalog_unit_free(&u);
}

int svc_job_start(struct service *s, const struct svc_principal *p,
		  const struct catalog_unit *u, enum catalog_job_kind kind, const char *action,
		  struct json_object **out, struct error *err)
{
	struct catalog_job *got = NULL;
	int64_t id;

	if (svc_job_queue(s, u->tenant, u->id, kind, svc_now(s), &id, err) < 0 ||
	    catalog_job_get(svc_catalog(s), id, &got, err) < 0)
		return -1;
	if (svc_audit(s, p, u->tenant, action, u->id, NULL, err) < 0) {
		catalog_job_free(&got);
		return -1;
	}
	svc_kick_workers(s);
	*out = view_job(got);
	catalog_job_free(&got);
	return 0;
}

int svc_backup_now(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *unit, struct json_object **out, struct error *err)
{
	struct catalog_unit *u = NULL;
	int ret = -1;

	if (svc_authorize(p, tenant, SVC_PERM_CONFIG_WRITE, err) < 0 ||
	    svc_tenant_writable(s, tenant, "take a restore point", err) < 0)
		return -1;
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	if (u->destroy_requested) { /* docs/privacy.md 5 */
		error_setk(err, ERROR_EXISTS, "unit %s is %s: it takes no more restore points",
			   u->id, catalog_unit_state_of(u->state) == CATALOG_UNIT_DESTROYED
			   ? "destroyed" : "to be destroyed");
		goto out;
	}
	ret = svc_job_start(s, p, u, CATALOG_JOB_BACKUP, "protectionUnit.backup", out, err);
out:
	catalog_unit_free(&u);
	return ret;
}
