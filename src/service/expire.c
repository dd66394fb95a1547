/* Expiry (docs/service.md "Expiry"): the thinning rule picks the restore
 * points of a unit to forget; each is forgotten in the store (a tombstone
 * keeps the chain), marked in the catalog, audited, and prune reclaims the
 * data only they held. The only other way to remove a point is
 * svc_rp_forget, which refuses anything inside retention. */
#include <json-c/json.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "engine/locks.h"
#include "engine/prune.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/offboard.h"
#include "service/service.h"
#include "service/thinning.h"
#include "service/views.h"
#include "store/backend.h"
#include "store/rp.h"
#include "store/store.h"

#define DAY 86400
#define DEFAULT_RECENT_DAYS 14
#define DEFAULT_RETENTION_DAYS 365

void svc_unit_retention(struct service *s, const struct catalog_unit *u, int64_t *recent_r,
			int64_t *retention_r)
{
	struct catalog_policy *p = NULL;
	struct catalog_tenant *t = NULL;
	struct error ignore;

	*recent_r = DEFAULT_RECENT_DAYS;
	*retention_r = DEFAULT_RETENTION_DAYS;
	error_init(&ignore);
	if (u->policy && catalog_policy_get(svc_catalog(s), u->tenant, u->policy, &p, &ignore) == 0) {
		*recent_r = p->recent_days;
		*retention_r = p->retention_days;
	} else if (catalog_tenant_get(svc_catalog(s), u->tenant, &t, &ignore) == 0 &&
		   t->min_retention_days > *retention_r) {
		*retention_r = t->min_retention_days;
	}
	catalog_tenant_free(&t);
	catalog_policy_free(&p);
}

int svc_live_point(struct service *s, const char *tenant, const char *unit, uint32_t seq,
		   struct error *err)
{
	struct catalog_rp *rp = NULL;
	int ret = 0;

	if (catalog_rp_get(svc_catalog(s), tenant, unit, seq, &rp, err) < 0 || rp->forgotten)
		ret = error_setk(err, ERROR_NOTFOUND, "unit %s has no restore point %" PRIu32, unit,
				 seq);
	catalog_rp_free(&rp);
	return ret;
}

int svc_live_points(struct service *s, const char *tenant, const char *unit,
		    struct catalog_rp ***rps_r, size_t *n_r, struct error *err)
{
	struct catalog_rp_filter f = { 0 };
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_rp **page, **all = NULL;
	size_t n, total = 0;
	char after[16];

	for (;;) {
		if (catalog_rp_list(svc_catalog(s), tenant, unit, &f, &pg, &page, &n, err) < 0) {
			CATALOG_LIST_FREE(all, total, catalog_rp_free);
			return -1;
		}
		all = xrealloc(all, xmul(total + n + 1, sizeof(*all)));
		memcpy(all + total, page, n * sizeof(*page));
		total += n;
		free(page);
		if (n < 1000)
			break;
		snprintf(after, sizeof(after), "%u", all[total - 1]->seq);
		pg.after = after;
	}
	*rps_r = all;
	*n_r = total;
	return 0;
}

static int cmp_rp_time(const void *a, const void *b)
{
	const struct catalog_rp *x = *(const struct catalog_rp *const *)a;
	const struct catalog_rp *y = *(const struct catalog_rp *const *)b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A point's time, keep-until and retain-until in seconds: its own, fixed
 * when it was taken, or for a point from before that, the policy's now. */
static void point_dates(const struct catalog_rp *rp, int64_t recent_days,
			int64_t retention_days, int64_t *time_r, int64_t *keep_r,
			int64_t *retain_r)
{
	*time_r = rp->time_ns / 1000000000LL;
	*keep_r = rp->keep_until ? rp->keep_until : *time_r + recent_days * DAY;
	*retain_r = rp->retain_until ? rp->retain_until : *time_r + retention_days * DAY;
}

/* Two passes of prune with no grace: the first plans the packs no live
 * point needs and repacks partly used ones within prune's default budget,
 * the second deletes them (and repacks nothing, so that what a job
 * rewrites is freed in the same job); prune's session checks keep a
 * backup running meanwhile safe (docs/prune.md). */
static int reclaim(struct store *st, struct json_object *detail, struct error *err)
{
	struct prune_opts o = { .grace_seconds = 0 }, o2 = { .grace_seconds = 0, .repack_below = -1 };
	struct prune_result r1 = { 0 }, r2 = { 0 };

	if (prune_run(st, &o, &r1, err) < 0 || prune_run(st, &o2, &r2, err) < 0)
		return error_prefix(err, "reclaiming the data of forgotten restore points");
	json_object_object_add(detail, "deletedPacks",
			       json_object_new_int64((int64_t)(r1.deleted_packs + r2.deleted_packs)));
	json_object_object_add(detail, "deletedBytes",
			       json_object_new_int64((int64_t)(r1.deleted_bytes + r2.deleted_bytes)));
	json_object_object_add(detail, "repackedPacks",
			       json_object_new_int64((int64_t)r1.repacked_packs));
	json_object_object_add(detail, "repackWrittenBytes",
			       json_object_new_int64((int64_t)r1.repack_written_bytes));
	/* Left for a later prune: the server still locks them. */
	json_object_object_add(detail, "lockedPacks",
			       json_object_new_int64((int64_t)r2.locked_packs));
	return 0;
}

/* Before anything is deleted: the Object Lock of everything the unit's
 * live points need is extended where it is about to lapse (docs/s3.md
 * "Lock extension"), by the service's clock. Counted in the job's detail
 * and the log (event=lock.extend); a failure is said, never the job's
 * failure: the next expiry tries again, well before the lock lapses. A
 * store without Object Lock says nothing. */
static void expire_lock_extend(struct service *s, const struct catalog_job *j, int64_t now,
			       struct json_object *detail)
{
	struct lock_extend_opts o = { .unit = j->unit, .now = now };
	struct lock_extend_result res;
	struct json_object *le;
	struct store *st;
	struct error err;

	error_init(&err);
	st = svc_tenant_store(s, j->tenant, 0, &err);
	if (st == NULL || lock_extend(st, &o, &res, &err) < 0) {
		log_warn("event=lock.extend tenant=%s unit=%s error=\"%s\"", j->tenant, j->unit,
			 err.msg);
		store_close(&st);
		return;
	}
	if (res.has_locks) {
		le = json_object_new_object();
		json_object_object_add(le, "checked", json_object_new_int64((int64_t)res.checked));
		json_object_object_add(le, "extended", json_object_new_int64((int64_t)res.extended));
		json_object_object_add(le, "failed", json_object_new_int64((int64_t)res.failed));
		json_object_object_add(detail, "lockExtend", le);
		if (res.failed > 0)
			log_warn("event=lock.extend tenant=%s unit=%s checked=%llu extended=%llu "
				 "failed=%llu first=\"%s\"", j->tenant, j->unit,
				 (unsigned long long)res.checked, (unsigned long long)res.extended,
				 (unsigned long long)res.failed,
				 res.nfailures ? res.failures[0] : "");
		else
			log_info("event=lock.extend tenant=%s unit=%s checked=%llu extended=%llu "
				 "failed=0", j->tenant, j->unit, (unsigned long long)res.checked,
				 (unsigned long long)res.extended);
	}
	lock_extend_result_clear(&res);
	store_close(&st);
}

/* Whether a forget refused as locked wrote its tombstone all the same (the
 * server refused the manifest's DELETE after it): the point is forgotten. */
static int expire_forgotten_anyway(struct store_unit *su, uint32_t seq)
{
	struct rp_tombstone *t = NULL;
	struct error err;
	int ret;

	error_init(&err);
	ret = rp_tombstone_read(su, seq, &t, &err) == 0;
	rp_tombstone_free(&t);
	return ret;
}

int svc_expire_job_run(struct service *s, const struct catalog_job *j, struct error *err)
{
	struct json_object *detail = json_object_new_object(), *seqs = json_object_new_array();
	struct json_object *kept = json_object_new_array();
	int64_t now = svc_now(s), recent, retention, *times = NULL, *keep, *retain;
	struct catalog_unit *u = NULL;
	struct catalog_rp **rps = NULL;
	struct store_unit *su = NULL;
	struct store *st = NULL;
	uint8_t *forget = NULL;
	size_t n = 0, nforget = 0;
	char *held = NULL;
	int ret = -1;

	if (catalog_unit_get(svc_catalog(s), j->tenant, j->unit, &u, err) < 0 ||
	    svc_live_points(s, j->tenant, j->unit, &rps, &n, err) < 0)
		goto out;
	json_object_object_add(detail, "restorePoints", json_object_new_int64((int64_t)n));
	expire_lock_extend(s, j, now, detail);
	held = svc_unit_hold_reason(s, u); /* the unit's or its tenant's */
	if (held != NULL) {
		/* Held: nothing of the unit goes, whatever its dates; the next
		 * expiry after the release catches up. */
		json_object_object_add(detail, "skipped", json_object_new_string("legal hold"));
		json_object_object_add(detail, "legalHold", json_object_new_string(held));
		log_info("event=expire.held tenant=%s unit=%s restore_points=%zu", j->tenant,
			 j->unit, n);
		ret = 0;
		goto audit;
	}
	svc_unit_retention(s, u, &recent, &retention);
	qsort(rps, n, sizeof(*rps), cmp_rp_time);
	times = xcalloc(3 * (n + 1), sizeof(*times));
	keep = times + n + 1;
	retain = keep + n + 1;
	forget = xcalloc(n + 1, 1);
	for (size_t i = 0; i < n; i++)
		point_dates(rps[i], recent, retention, &times[i], &keep[i], &retain[i]);
	thinning_select_fixed(times, keep, retain, n, now, forget);
	/* A unit whose source is gone keeps no point for ever: its newest goes
	 * too once past its retention (docs/privacy.md 6). */
	if (u->source_gone_since != 0 && n > 0 && now > retain[n - 1])
		forget[n - 1] = 1;
	for (size_t i = 0; i < n; i++)
		nforget += forget[i];
	if (nforget > 0) {
		st = svc_tenant_store(s, j->tenant, BACKEND_ALLOW_DELETE, err);
		if (st == NULL || (su = store_unit_open(st, j->unit, 0, err)) == NULL)
			goto out;
		for (size_t i = 0; i < n && !svc_stopping(s); i++) {
			int rc;

			if (!forget[i])
				continue;
			rc = i + 1 == n && u->source_gone_since != 0
				     ? rp_forget_last_at(su, rps[i]->seq, now * 1000000000LL, err)
				     : rp_forget_at(su, rps[i]->seq, now * 1000000000LL, err);

			if (rc < 0 && err->code == ERROR_LOCKED &&
			    !expire_forgotten_anyway(su, rps[i]->seq)) {
				/* The store holds the point's own dates and
				 * has the last word (a clock gone back, a
				 * catalog row that disagrees), and the server
				 * may still lock its manifest (S3 Object
				 * Lock): kept, and the next expiry tries
				 * again. Said once per run, in the log and in
				 * the job's detail; not a failure. */
				log_warn("event=expire.kept tenant=%s unit=%s restore_point=%u "
					 "reason=%s", j->tenant, j->unit, rps[i]->seq, err->msg);
				json_object_array_add(kept, json_object_new_int64(rps[i]->seq));
				error_init(err);
				continue;
			}
			if (rc < 0 && err->code == ERROR_LOCKED) {
				/* Its tombstone is written but the server kept
				 * the manifest: forgotten for every reader; the
				 * next expiry or prune deletes the manifest. */
				log_warn("event=expire.manifest_locked tenant=%s unit=%s "
					 "restore_point=%u reason=%s", j->tenant, j->unit,
					 rps[i]->seq, err->msg);
				error_init(err);
				rc = 0;
			}
			if (rc < 0 ||
			    catalog_rp_mark_forgotten(svc_catalog(s), j->tenant, j->unit,
						      rps[i]->seq, err) < 0) {
				error_prefix(err, "forgetting restore point %s@%u", j->unit,
					     rps[i]->seq);
				goto audit;
			}
			json_object_array_add(seqs, json_object_new_int64(rps[i]->seq));
		}
	}
	ret = 0;
audit:
	json_object_object_add(detail, "forgotten", json_object_get(seqs));
	if (json_object_array_length(kept) > 0)
		json_object_object_add(detail, "locked", json_object_get(kept));
	if (json_object_array_length(seqs) > 0) {
		struct error aerr;

		error_init(&aerr);
		if (svc_audit(s, NULL, j->tenant, "restorePoint.expire", j->unit, detail, &aerr) < 0) {
			if (ret == 0)
				*err = aerr;
			ret = -1;
		}
		log_info("event=expire tenant=%s unit=%s forgotten=%zu kept=%zu", j->tenant, j->unit,
			 json_object_array_length(seqs), n - json_object_array_length(seqs));
	}
	if (ret == 0 && json_object_array_length(seqs) > 0 && reclaim(st, detail, err) < 0)
		ret = -1;
	if (st != NULL) /* this job's own records, and anyone else's */
		svc_deletions_import(s, j->tenant, j->unit, st);
	if (ret == 0) {
		struct error derr;

		error_init(&derr);
		catalog_job_set_detail(svc_catalog(s), j->id, NULL, 0,
				       json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN),
				       &derr);
	}
out:
	store_unit_close(&su);
	store_close(&st);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	catalog_unit_free(&u);
	free(held);
	free(times);
	free(forget);
	json_object_put(seqs);
	json_object_put(kept);
	json_object_put(detail);
	return ret;
}

/* A refused forget is audited with the reason in err (the refusal stands
 * whether or not the audit entry could be written). */
static void forget_refused_audit(struct service *s, const struct svc_principal *p,
				 const char *tenant, const char *unit, uint32_t seq,
				 const struct error *why)
{
	struct json_object *detail = json_object_new_object();
	struct error aerr;

	json_object_object_add(detail, "restorePoint", json_object_new_int64(seq));
	json_object_object_add(detail, "refused", json_object_new_string(why->msg));
	error_init(&aerr);
	svc_audit(s, p, tenant, "restorePoint.forget", unit, detail, &aerr);
	json_object_put(detail);
}

int svc_rp_forget(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, uint32_t seq, struct json_object **out, struct error *err)
{
	struct catalog_job *got = NULL;
	int64_t recent, retention, now = svc_now(s), t, keep, until, id;
	struct catalog_unit *u = NULL;
	struct catalog_rp *rp = NULL;
	struct json_object *detail;
	char date[32], *held = NULL;
	int ret = -1;

	if (svc_authorize(p, tenant, SVC_PERM_CONFIG_WRITE, err) < 0)
		return -1;
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0 ||
	    catalog_rp_get(svc_catalog(s), tenant, unit, seq, &rp, err) < 0)
		goto out;
	if (rp->forgotten) {
		error_setk(err, ERROR_NOTFOUND, "restore point %s@%u was already forgotten", unit, seq);
		goto out;
	}
	held = svc_unit_hold_reason(s, u);
	if (held != NULL) {
		/* On S3 the objects' own holds refuse it too; a folder has only
		 * this. */
		error_setk(err, SVC_DENIED, "restore point %s@%u cannot be forgotten: unit %s is "
			   "under a legal hold (%s)", unit, seq, unit, held);
		forget_refused_audit(s, p, tenant, unit, seq, err);
		goto out;
	}
	svc_unit_retention(s, u, &recent, &retention);
	point_dates(rp, recent, retention, &t, &keep, &until);
	if (now <= until) {
		time_format(until, date);
		error_setk(err, SVC_DENIED, "restore point %s@%u is inside retention until %s: "
			   "nothing inside retention can be removed, whatever the role", unit, seq,
			   date);
		forget_refused_audit(s, p, tenant, unit, seq, err);
		goto out;
	}
	/* Outside retention: the expiry path forgets it (with any other
	 * point past retention), so there is one way data goes. */
	if (svc_job_queue(s, u->tenant, u->id, CATALOG_JOB_EXPIRE, now, &id, err) < 0 ||
	    catalog_job_get(svc_catalog(s), id, &got, err) < 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "restorePoint", json_object_new_int64(seq));
	json_object_object_add(detail, "job", json_object_new_int64(id));
	ret = svc_audit(s, p, tenant, "restorePoint.forget", unit, detail, err);
	json_object_put(detail);
	if (ret < 0)
		goto out;
	svc_kick_workers(s);
	*out = view_job(got);
out:
	free(held);
	catalog_job_free(&got);
	catalog_rp_free(&rp);
	catalog_unit_free(&u);
	return ret;
}
