/* Restore drills (docs/service.md "Restore drills"): a policy's schedule
 * of verification, the drill job, its results in the catalog, the API's
 * views of them and what the scheduler, the unit views and the overview
 * ask of them.
 *
 * A drill of a unit reads and decrypts one slice of the unit's packs
 * (check --read-data on the slice, engine/check.h) and restores a sample
 * of the newest point's files or messages into a scratch folder below the
 * data folder, comparing each with what the point says (engine/drill.h).
 * Drill N of a unit reads slice (N - 1) mod slices, the drills being
 * numbered in the catalog: the rotation survives restarts, and `slices`
 * drills in a row read every pack. Nothing is written to the store or to
 * the unit's source; the result goes to the catalog and the audit log. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "engine/check.h"
#include "engine/drill.h"
#include "engine/views.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "store/store.h"

#define DAY 86400
#define DEFAULT_EVERY DAY
#define DEFAULT_COVER_DAYS 30
#define DEFAULT_SAMPLE 20
#define MAX_SAMPLE 1000
#define MAX_PROBLEMS 50 /* kept per drill; the count is whole */

struct drill_settings {
	int64_t every_s, cover_days, sample;
};

static const char *sample_key(const char *kind)
{
	return catalog_kind_of(kind) == CATALOG_KIND_MAILBOX ? "sampleMessages" : "sampleFiles";
}

/* How many drills read every pack once. */
static int64_t drill_slices(const struct drill_settings *ds)
{
	int64_t span = ds->cover_days * DAY;

	return ds->every_s >= span ? 1 : (span + ds->every_s - 1) / ds->every_s;
}

/* The settings of stored JSON (the policy's "drill" column). */
static void settings_of(const char *json, const char *kind, struct drill_settings *ds)
{
	struct json_object *o = json ? json_tokener_parse(json) : NULL, *v;

	*ds = (struct drill_settings){ DEFAULT_EVERY, DEFAULT_COVER_DAYS, DEFAULT_SAMPLE };
	if (o && json_object_object_get_ex(o, "everySeconds", &v))
		ds->every_s = json_object_get_int64(v);
	if (o && json_object_object_get_ex(o, "coverDays", &v))
		ds->cover_days = json_object_get_int64(v);
	if (o && json_object_object_get_ex(o, sample_key(kind), &v))
		ds->sample = json_object_get_int64(v);
	if (ds->every_s <= 0)
		ds->every_s = DEFAULT_EVERY;
	if (ds->cover_days <= 0)
		ds->cover_days = DEFAULT_COVER_DAYS;
	json_object_put(o);
}

int svc_drill_settings_check(struct service *s, struct json_object *in, const char *kind,
			     char **stored_r, struct error *err)
{
	const char *const keys[] = { "everySeconds", "coverDays", sample_key(kind), NULL };
	const char *other = catalog_kind_of(kind) == CATALOG_KIND_MAILBOX ? "sampleFiles"
									   : "sampleMessages";
	struct drill_settings ds = { DEFAULT_EVERY, DEFAULT_COVER_DAYS, DEFAULT_SAMPLE };
	struct json_object *o;

	*stored_r = NULL;
	if (in == NULL || json_object_is_type(in, json_type_null))
		return 0; /* no drills */
	if (json_object_is_type(in, json_type_object) &&
	    json_object_object_get_ex(in, other, NULL))
		return error_setk(err, ERROR_USAGE, "drill: '%s' is for %s policies; this policy "
				  "protects %s units: give '%s'", other,
				  strcmp(other, "sampleMessages") == 0 ? "mailbox"
								       : "account and site",
				  kind, sample_key(kind));
	if (svc_check_object(in, keys, "'drill'", err) < 0 ||
	    svc_want_int(in, "everySeconds", svc_cfg(s)->min_frequency_s, 366LL * DAY,
			 &ds.every_s, err) < 0 ||
	    svc_want_int(in, "coverDays", 1, 366, &ds.cover_days, err) < 0 ||
	    svc_want_int(in, sample_key(kind), 0, MAX_SAMPLE, &ds.sample, err) < 0)
		return error_prefix(err, "drill");
	o = json_object_new_object();
	json_object_object_add(o, "everySeconds", json_object_new_int64(ds.every_s));
	json_object_object_add(o, "coverDays", json_object_new_int64(ds.cover_days));
	json_object_object_add(o, sample_key(kind), json_object_new_int64(ds.sample));
	*stored_r = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return 0;
}

struct json_object *svc_drill_settings_view(const char *json, const char *kind)
{
	struct drill_settings ds;
	struct json_object *o;

	if (json == NULL)
		return NULL;
	settings_of(json, kind, &ds);
	o = json_object_new_object();
	json_object_object_add(o, "everySeconds", json_object_new_int64(ds.every_s));
	json_object_object_add(o, "coverDays", json_object_new_int64(ds.cover_days));
	json_object_object_add(o, sample_key(kind), json_object_new_int64(ds.sample));
	json_object_object_add(o, "slices", json_object_new_int64(drill_slices(&ds)));
	return o;
}

/* ---- views ---- */

static struct json_object *drill_view(const struct catalog_drill *d)
{
	struct json_object *o = json_object_new_object(), *detail;

	json_object_object_add(o, "unit", json_object_new_string(d->unit));
	json_object_object_add(o, "seq", json_object_new_int64(d->seq));
	json_object_object_add(o, "state", json_object_new_string(d->state));
	view_add_time(o, "started", d->started);
	view_add_time(o, "finished", d->finished);
	json_object_object_add(o, "restorePoint", d->restore_point
					     ? json_object_new_int64(d->restore_point) : NULL);
	json_object_object_add(o, "slice", json_object_new_int64(d->slice));
	json_object_object_add(o, "slices", json_object_new_int64(d->slices));
	json_object_object_add(o, "packs", json_object_new_int64(d->packs));
	json_object_object_add(o, "bytes", json_object_new_int64(d->bytes));
	json_object_object_add(o, "samples", json_object_new_int64(d->samples));
	json_object_object_add(o, "withheld", json_object_new_int64(d->withheld));
	json_object_object_add(o, "problems", json_object_new_int64(d->problems));
	detail = d->detail ? json_tokener_parse(d->detail) : NULL;
	json_object_object_add(o, "detail", detail);
	return o;
}

/* The short form in a unit and in the overview: no sample paths. */
static struct json_object *drill_brief(const struct catalog_drill *d)
{
	struct json_object *o = drill_view(d), *detail, *v;

	if (json_object_object_get_ex(o, "detail", &detail) && detail &&
	    json_object_object_get_ex(detail, "problemList", &v))
		json_object_object_add(o, "firstProblem",
				       json_object_array_length(v) > 0
					       ? json_object_get(json_object_array_get_idx(v, 0))
					       : NULL);
	else
		json_object_object_add(o, "firstProblem", NULL);
	json_object_object_del(o, "detail");
	return o;
}

void svc_drill_annotate(struct service *s, const char *tenant, struct json_object *units)
{
	struct catalog_drill **ds = NULL;
	struct json_object *one = NULL;
	struct error err;
	size_t n = 0;

	error_init(&err);
	if (json_object_is_type(units, json_type_object)) { /* one unit */
		one = units;
		units = json_object_new_array();
		json_object_array_add(units, json_object_get(one));
	}
	if (catalog_drill_latest(svc_catalog(s), tenant, one ? jsonu_str(one, "id") : NULL, &ds,
				 &n, &err) < 0)
		log_warn("event=drill.latest tenant=%s error=\"%s\"", tenant, err.msg);
	for (size_t i = 0; i < json_object_array_length(units); i++) {
		struct json_object *u = json_object_array_get_idx(units, i), *last = NULL;
		const char *id = jsonu_str(u, "id");

		for (size_t k = 0; id && k < n; k++)
			if (strcmp(ds[k]->unit, id) == 0)
				last = drill_brief(ds[k]);
		json_object_object_add(u, "lastDrill", last);
	}
	if (one)
		json_object_put(units);
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
}

/* ---- the job ---- */

/* What a drill found, as it goes. */
struct drill_run {
	struct json_object *problems; /* [{"part","path","problem"}], at most MAX_PROBLEMS */
	int64_t count;
};

static void note(struct drill_run *dr, const char *part, const char *path, const char *what)
{
	struct json_object *p;

	if (dr->count++ >= MAX_PROBLEMS)
		return;
	p = json_object_new_object();
	json_object_object_add(p, "part", json_object_new_string(part));
	json_object_object_add(p, "path", path ? json_object_new_string(path) : NULL);
	json_object_object_add(p, "problem", json_object_new_string(what));
	json_object_array_add(dr->problems, p);
}

static void check_report(void *ctx, const char *unit, uint32_t seq, const char *path,
			 const char *problem)
{
	char *what = seq ? xasprintf("restore point %u: %s", seq, problem) : xstrdup(problem);

	(void)unit;
	note(ctx, "packs", path, what);
	free(what);
}

static void sample_report(void *ctx, const char *path, const char *problem)
{
	note(ctx, "restore", path, problem);
}

/* A seed that differs per unit and per drill, so the samples move on. */
static uint64_t drill_seed(const char *unit, int64_t seq)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *unit; unit++)
		h = (h ^ (uint8_t)*unit) * 1099511628211ULL;
	return h ^ (uint64_t)seq * 0x9e3779b97f4a7c15ULL;
}

/* DATA/drills, private, without what an earlier drill of the unit left
 * there (a stop or a crash mid-drill): restored content in plain text
 * must not outlive its drill. Other units' drills may be running. */
static char *scratch_dir(struct service *s, const struct catalog_unit *u, int64_t job)
{
	char *root = xasprintf("%s/drills", svc_cfg(s)->data_dir), *prefix, *old;
	struct dirent *de;
	struct error err;
	DIR *d;

	error_init(&err);
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		log_warn("event=drill.scratch path=\"%s\" error=\"%s\"", root, strerror(errno));
	prefix = xasprintf("%s-", u->id);
	if ((d = opendir(root)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
				continue;
			old = xasprintf("%s/%s", root, de->d_name);
			if (fs_remove_tree(old, &err) < 0)
				log_warn("event=drill.scratch path=\"%s\" error=\"%s\"", old, err.msg);
			error_init(&err);
			free(old);
		}
		closedir(d);
	}
	old = xasprintf("%s/%s%lld", root, prefix, (long long)job);
	free(prefix);
	free(root);
	return old;
}

/* Reads the slice and restores the sample; d's counts are filled. */
static void drill_do(struct service *s, const struct catalog_unit *u,
		     const struct drill_settings *ds, const struct catalog_job *j,
		     struct catalog_drill *d, struct drill_run *dr, struct json_object *detail)
{
	struct check_opts co = { .read_data = 1, .quiet = 1, .report = check_report, .ctx = dr,
				 .unit = u->id, .slices = (uint32_t)d->slices,
				 .slice = (uint32_t)d->slice };
	struct drill_sample_opts so = { .unit = u->id, .nsample = (size_t)ds->sample,
					.seed = drill_seed(u->id, d->seq),
					.report = sample_report, .ctx = dr };
	struct drill_sample_result sr = { 0 };
	struct check_result cr;
	struct json_object *o, *paths;
	struct store *st;
	struct error err;
	char *scratch;

	error_init(&err);
	st = svc_tenant_store(s, u->tenant, 0, &err);
	if (st == NULL) {
		note(dr, "packs", NULL, err.msg);
		return;
	}
	if (check_run(st, &co, &cr, &err) < 0)
		note(dr, "packs", NULL, err.msg);
	d->packs = (int64_t)cr.packs_read;
	d->bytes = (int64_t)cr.bytes_read;
	o = json_object_new_object();
	json_object_object_add(o, "packsRead", json_object_new_int64((int64_t)cr.packs_read));
	json_object_object_add(o, "bytesRead", json_object_new_int64((int64_t)cr.bytes_read));
	json_object_object_add(o, "packsInStore", json_object_new_int64((int64_t)cr.packs));
	json_object_object_add(o, "restorePoints", json_object_new_int64((int64_t)cr.restore_points));
	json_object_object_add(o, "problems", json_object_new_int64((int64_t)cr.problems));
	json_object_object_add(detail, "packs", o);

	/* The scratch folder: below the data folder, private, never the
	 * source; removed whatever happened. */
	scratch = scratch_dir(s, u, j->id);
	so.scratch = scratch;
	if (ds->sample > 0 && drill_sample_run(st, &so, &sr, &err) < 0) {
		note(dr, "restore", NULL, err.msg);
	} else if (ds->sample > 0) {
		d->restore_point = sr.seq;
		d->samples = (int64_t)sr.sampled;
		d->withheld = (int64_t)sr.withheld;
		o = json_object_new_object();
		json_object_object_add(o, "restorePoint", json_object_new_int64(sr.seq));
		json_object_object_add(o, "candidates", json_object_new_int64((int64_t)sr.files));
		json_object_object_add(o, "sampled", json_object_new_int64((int64_t)sr.sampled));
		json_object_object_add(o, "verified", json_object_new_int64((int64_t)sr.verified));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)sr.bytes));
		json_object_object_add(o, "withheld", json_object_new_int64((int64_t)sr.withheld));
		paths = json_object_new_array();
		for (size_t i = 0; i < sr.sampled; i++)
			json_object_array_add(paths, json_object_new_string(sr.paths[i]));
		json_object_object_add(o, "paths", paths);
		json_object_object_add(detail, "restore", o);
	}
	drill_sample_result_clear(&sr);
	error_init(&err);
	if (fs_remove_tree(scratch, &err) < 0 && err.code != ERROR_NOTFOUND)
		log_warn("event=drill.scratch path=\"%s\" error=\"%s\"", scratch, err.msg);
	free(scratch);
	store_close(&st);
}

/* The unit's settings: its policy's, or the defaults (a drill on demand
 * of a unit whose policy has none). */
static void unit_settings(struct service *s, const struct catalog_unit *u,
			  struct drill_settings *ds)
{
	struct catalog_policy *p = NULL;
	struct error err;

	error_init(&err);
	if (u->policy && catalog_policy_get(svc_catalog(s), u->tenant, u->policy, &p, &err) == 0)
		settings_of(p->drill, u->kind, ds);
	else
		settings_of(NULL, u->kind, ds);
	catalog_policy_free(&p);
}

static void drill_audit(struct service *s, const struct catalog_drill *d, const char *first)
{
	struct json_object *a = json_object_new_object();
	struct error err;

	json_object_object_add(a, "drill", json_object_new_int64(d->seq));
	json_object_object_add(a, "state", json_object_new_string(d->state));
	json_object_object_add(a, "packs", json_object_new_int64(d->packs));
	json_object_object_add(a, "bytes", json_object_new_int64(d->bytes));
	json_object_object_add(a, "samples", json_object_new_int64(d->samples));
	json_object_object_add(a, "problems", json_object_new_int64(d->problems));
	if (first)
		json_object_object_add(a, "firstProblem", json_object_new_string(first));
	error_init(&err);
	if (svc_audit(s, NULL, d->tenant, strcmp(d->state, "passed") == 0
			      ? "protectionUnit.drill.passed" : "protectionUnit.drill.failed",
		      d->unit, a, &err) < 0)
		log_error("event=drill.audit tenant=%s unit=%s error=\"%s\"", d->tenant, d->unit,
			  err.msg);
	json_object_put(a);
}

/* The job's detail names its drill, so a failed job leads to the drill. */
static void job_detail(struct service *s, const struct catalog_job *j, const struct catalog_drill *d)
{
	struct json_object *o = json_object_new_object();
	struct error err;

	json_object_object_add(o, "drill", json_object_new_int64(d->seq));
	json_object_object_add(o, "state", json_object_new_string(d->state));
	json_object_object_add(o, "packs", json_object_new_int64(d->packs));
	json_object_object_add(o, "samples", json_object_new_int64(d->samples));
	json_object_object_add(o, "problems", json_object_new_int64(d->problems));
	error_init(&err);
	if (catalog_job_set_detail(svc_catalog(s), j->id, NULL, 0,
				   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), &err) < 0)
		log_warn("event=job.detail job=%lld error=\"%s\"", (long long)j->id, err.msg);
	json_object_put(o);
}

int svc_drill_job_run(struct service *s, const struct catalog_job *j, struct error *err)
{
	struct drill_run dr = { .problems = json_object_new_array() };
	struct json_object *detail = json_object_new_object(), *first;
	struct catalog_drill d = { 0 };
	struct catalog_unit *u = NULL;
	struct drill_settings ds;
	char *first_text = NULL;
	int ret = -1;

	if (catalog_unit_get(svc_catalog(s), j->tenant, j->unit, &u, err) < 0)
		goto out;
	if (catalog_unit_state_of(u->state) == CATALOG_UNIT_DESTROYED) {
		error_setk(err, ERROR_CONFLICT, "unit %s is destroyed: nothing to drill", u->id);
		goto out;
	}
	unit_settings(s, u, &ds);
	d.tenant = u->tenant;
	d.unit = u->id;
	d.started = svc_now(s);
	d.slices = drill_slices(&ds);
	if (catalog_drill_next_seq(svc_catalog(s), u->tenant, u->id, &d.seq, err) < 0)
		goto out;
	d.slice = (d.seq - 1) % d.slices;
	drill_do(s, u, &ds, j, &d, &dr, detail);
	d.finished = svc_now(s);
	d.problems = dr.count;
	d.state = xstrdup(dr.count == 0 ? "passed" : "failed");
	json_object_object_add(detail, "problemList", json_object_get(dr.problems));
	d.detail = xstrdup(json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN));
	if (catalog_drill_put(svc_catalog(s), &d, err) < 0)
		goto out;
	first = json_object_array_length(dr.problems) > 0
			? json_object_array_get_idx(dr.problems, 0) : NULL;
	if (first)
		first_text = xasprintf("%s%s%s", jsonu_str(first, "path") ? jsonu_str(first, "path")
									  : "",
				       jsonu_str(first, "path") ? ": " : "",
				       jsonu_str(first, "problem"));
	drill_audit(s, &d, first_text);
	job_detail(s, j, &d);
	log_info("event=drill.done tenant=%s unit=%s drill=%lld state=%s slice=%lld/%lld packs=%lld "
		 "bytes=%lld samples=%lld withheld=%lld problems=%lld", d.tenant, d.unit,
		 (long long)d.seq, d.state, (long long)d.slice, (long long)d.slices,
		 (long long)d.packs, (long long)d.bytes, (long long)d.samples,
		 (long long)d.withheld, (long long)d.problems);
	if (dr.count > 0) {
		error_setk(err, ERROR_CORRUPT, "drill %lld of unit %s failed: %lld problems (first: "
			   "%s)", (long long)d.seq, d.unit, (long long)dr.count, first_text);
		goto out;
	}
	ret = 0;
out:
	free(first_text);
	free(d.state);
	free(d.detail);
	json_object_put(detail);
	json_object_put(dr.problems);
	catalog_unit_free(&u);
	return ret;
}

/* ---- the scheduler's part ---- */

void svc_drill_tick(struct service *s, const struct catalog_policy *p,
		    const struct catalog_unit *u, int64_t now)
{
	struct catalog_drill **ds = NULL;
	struct drill_settings set;
	struct error err;
	int64_t job_id;
	size_t n = 0;

	if (p->drill == NULL || u->last_success == 0)
		return;
	settings_of(p->drill, p->kind, &set);
	error_init(&err);
	if (catalog_drill_latest(svc_catalog(s), u->tenant, u->id, &ds, &n, &err) < 0)
		goto out;
	if (n > 0 && now >= ds[0]->started && now < ds[0]->started + set.every_s)
		goto out;
	if (svc_job_queue(s, u->tenant, u->id, CATALOG_JOB_DRILL, now, &job_id, &err) == 0)
		svc_kick_workers(s);
out:
	if (err.msg[0])
		log_warn("event=drill.schedule tenant=%s unit=%s error=\"%s\"", u->tenant, u->id,
			 err.msg);
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
}

/* ---- the API ---- */

int svc_drill_now(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, struct json_object **out, struct error *err)
{
	struct catalog_unit *u = NULL;
	int ret = -1;

	if (svc_authorize(p, tenant, SVC_PERM_RESTORE, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	if (catalog_unit_state_of(u->state) == CATALOG_UNIT_DESTROYED) {
		error_setk(err, ERROR_CONFLICT, "unit %s is destroyed: nothing to drill", u->id);
		goto out;
	}
	if (u->last_success == 0) {
		error_setk(err, ERROR_CONFLICT, "unit %s has no restore point yet: nothing to drill",
			   u->id);
		goto out;
	}
	ret = svc_job_start(s, p, u, CATALOG_JOB_DRILL, "protectionUnit.drill", out, err);
out:
	catalog_unit_free(&u);
	return ret;
}

int svc_drill_list(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *unit, const struct svc_page *page, struct json_object **out,
		   struct error *err)
{
	struct catalog_page pg = { page ? page->after : NULL, page ? page->limit : 0 };
	struct catalog_drill **ds = NULL;
	struct catalog_unit *u = NULL;
	struct json_object *items;
	size_t n = 0;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	catalog_unit_free(&u);
	/* Newest first: the last drill is what people look for. */
	if (catalog_drill_list(svc_catalog(s), tenant, unit, 1, &pg, &ds, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, drill_view(ds[i]));
	*out = json_object_new_object();
	json_object_object_add(*out, "items", items);
	if (n > 0 && (int)n == (pg.limit > 0 ? pg.limit : 100)) {
		char next[24];

		snprintf(next, sizeof(next), "%lld", (long long)ds[n - 1]->seq);
		json_object_object_add(*out, "next", json_object_new_string(next));
	} else {
		json_object_object_add(*out, "next", NULL);
	}
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
	return 0;
}
