/* Restore sessions (docs/service.md "Restore sessions"): a request names
 * units, a restore point each (a number, or the latest before a time) and
 * a mode; the session and one artifact per unit go into the catalog, and
 * one "restore" job per artifact into the queue. A worker runs each job
 * through svc_restore_job_run(): the unit's source writes the point back
 * while the artifact's progress is kept in the catalog, and the session's
 * state follows from its artifacts. */

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/recommend.h"
#include "service/service.h"
#include "service/views.h"
#include "sources/source.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

#define SESSION_MAX_ITEMS 1000
#define SESSION_MAX_PATHS 1000
/* Catalog writes of progress: at most this often per artifact. */
#define PROGRESS_EVERY_NS 200000000LL

/* ---- times: "before" is a time as lib/timeutil reads every time ---- */

static int parse_before(struct json_object *v, int64_t *ns_r, struct error *err)
{
	char num[32];
	const char *str;

	/* A JSON number is Unix seconds, as the string of its digits is. */
	if (json_object_is_type(v, json_type_int)) {
		snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(v));
		str = num;
	} else if (json_object_is_type(v, json_type_string)) {
		str = json_object_get_string(v);
	} else {
		return error_setk(err, ERROR_USAGE,
				  "\"before\": expected Unix seconds or an RFC 3339 time");
	}
	if (time_parse_field("\"before\"", str, 0, ns_r, err) < 0)
		return -1;
	if (*ns_r == 0) /* no point is taken at the epoch itself */
		return error_setk(err, ERROR_USAGE, "\"before\": \"%s\" is out of range (1970 to "
				  "2262)", str);
	return 0;
}

/* ---- resolving a request item to an artifact ---- */

/* The latest point of the unit taken at or before `ns` that is not
 * forgotten; ERROR_NOTFOUND if none. */
static int rp_latest_before(struct catalog *c, const char *tenant, const char *unit, int64_t ns,
			    uint32_t *seq_r, struct error *err)
{
	struct catalog_rp_filter f = { 0 };
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_rp **rps;
	char cursor[16];
	size_t n, i;
	int found = 0;

	for (;;) {
		if (catalog_rp_list(c, tenant, unit, &f, &pg, &rps, &n, err) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (!rps[i]->forgotten && rps[i]->time_ns <= ns) {
				*seq_r = rps[i]->seq;
				found = 1;
			}
		if (n > 0)
			snprintf(cursor, sizeof(cursor), "%" PRIu32, rps[n - 1]->seq);
		CATALOG_LIST_FREE(rps, n, catalog_rp_free);
		if (n < (size_t)pg.limit)
			break;
		pg.after = cursor;
	}
	if (!found) {
		char when[32];

		time_format(ns / 1000000000, when);
		return error_setk(err, ERROR_NOTFOUND, "unit %s has no restore point before %s",
				  unit, when);
	}
	return 0;
}

static int rp_latest(struct catalog *c, const char *tenant, const char *unit, uint32_t *seq_r,
		     struct error *err)
{
	return rp_latest_before(c, tenant, unit, INT64_MAX, seq_r, err);
}

static int item_seq(struct catalog *c, const char *tenant, const char *unit,
		    struct json_object *item, uint32_t *seq_r, struct error *err)
{
	struct json_object *v, *b;
	struct catalog_rp *rp = NULL;
	int has_rp = json_object_object_get_ex(item, "restorePoint", &v);
	int has_before = json_object_object_get_ex(item, "before", &b);
	int64_t n, ns = 0;

	if (has_rp && has_before)
		return error_setk(err, ERROR_USAGE, "give \"restorePoint\" or \"before\", not both");
	if (has_before)
		return parse_before(b, &ns, err) < 0 ? -1 :
		       rp_latest_before(c, tenant, unit, ns, seq_r, err);
	if (!has_rp)
		return rp_latest(c, tenant, unit, seq_r, err);
	n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
	if (n < 1 || n > UINT32_MAX)
		return error_setk(err, ERROR_USAGE, "\"restorePoint\": expected a number from 1");
	if (catalog_rp_get(c, tenant, unit, (uint32_t)n, &rp, err) < 0 || rp->forgotten) {
		catalog_rp_free(&rp);
		return error_setk(err, ERROR_NOTFOUND, "unit %s has no restore point %" PRId64,
				  unit, n);
	}
	catalog_rp_free(&rp);
	*seq_r = (uint32_t)n;
	return 0;
}

static int item_mode(struct json_object *item, enum catalog_restore_mode *mode_r,
		     struct error *err)
{
	const char *m = jsonu_str(item, "mode");

	if (m == NULL)
		return error_setk(err, ERROR_USAGE, "\"mode\" is missing: inPlace, newLocation or "
				  "granular");
	*mode_r = view_restore_mode_of(m);
	if (*mode_r != 0)
		return 0;
	return error_setk(err, ERROR_USAGE, "\"mode\": unknown mode \"%s\" (inPlace, newLocation "
			  "or granular)", m);
}

/* Granular items need "paths" (relative paths or globs); new-location
 * items may take them (only those, to the new place: the console's "put
 * this message into a Restored-… folder"); in place refuses them (that is
 * granular). */
static int item_paths(struct json_object *item, enum catalog_restore_mode mode,
		      char **patterns_r, struct error *err)
{
	struct json_object *v;
	size_t i, n;

	*patterns_r = NULL;
	if (!json_object_object_get_ex(item, "paths", &v)) {
		if (mode == CATALOG_MODE_GRANULAR)
			return error_setk(err, ERROR_USAGE, "mode granular needs \"paths\"");
		return 0;
	}
	if (mode != CATALOG_MODE_GRANULAR && mode != CATALOG_MODE_NEW_LOCATION)
		return error_setk(err, ERROR_USAGE, "\"paths\" is for modes granular and "
				  "newLocation only");
	if (!json_object_is_type(v, json_type_array) || (n = json_object_array_length(v)) == 0 ||
	    n > SESSION_MAX_PATHS)
		return error_setk(err, ERROR_USAGE, "\"paths\": expected 1 to %d strings",
				  SESSION_MAX_PATHS);
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(v, i);
		const char *s;

		if (!json_object_is_type(p, json_type_string) ||
		    *(s = json_object_get_string(p)) == '\0')
			return error_setk(err, ERROR_USAGE, "\"paths\"[%zu]: expected a non-empty "
					  "string", i);
		if (s[0] == '/' || strcmp(s, "..") == 0 || strncmp(s, "../", 3) == 0 ||
		    strstr(s, "/../") != NULL)
			return error_setk(err, ERROR_USAGE, "\"paths\"[%zu]: %s must be relative "
					  "to the unit, without ..", i, s);
	}
	*patterns_r = xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return 0;
}

/* A unit restored by another session right now: refused, since two
 * restores of one unit would overwrite each other. */
static int unit_restore_busy(struct catalog *c, const char *tenant, const char *unit,
			     struct error *err)
{
	static const enum catalog_job_state states[] = { CATALOG_JOB_QUEUED, CATALOG_JOB_RUNNING };

	for (size_t i = 0; i < 2; i++) {
		struct catalog_job_filter f = {
			.tenant = tenant,
			.unit = unit,
			.kind = catalog_job_kind_name(CATALOG_JOB_RESTORE),
			.state = catalog_job_state_name(states[i]),
		};
		struct catalog_page pg = { .limit = 1 };
		struct catalog_job **js;
		size_t n;

		if (catalog_job_list(c, &f, &pg, &js, &n, err) < 0)
			return -1;
		if (n > 0) {
			error_setk(err, ERROR_EXISTS, "unit %s is being restored by session %s; "
				   "wait for it to end", unit, js[0]->session ? js[0]->session : "?");
			CATALOG_LIST_FREE(js, n, catalog_job_free);
			return -1;
		}
		CATALOG_LIST_FREE(js, n, catalog_job_free);
	}
	return 0;
}

static int item_artifact(struct catalog *c, const char *tenant, struct json_object *item,
			 struct catalog_artifact *a, struct error *err)
{
	static const char *const known[] = { "unit", "restorePoint", "before", "mode", "paths",
					     NULL };
	struct catalog_unit *u = NULL;
	enum catalog_restore_mode mode;
	const char *unit;

	if (svc_check_object(item, known, "a restore item", err) < 0)
		return -1;
	unit = jsonu_str(item, "unit");
	if (unit == NULL)
		return error_setk(err, ERROR_USAGE, "\"unit\" (a unit id) is missing");
	/* A unit of another tenant is not found, like one that does not exist. */
	if (catalog_unit_get(c, tenant, unit, &u, err) < 0)
		return -1;
	if (catalog_unit_state_of(u->state) == CATALOG_UNIT_REMOVED) {
		catalog_unit_free(&u);
		return error_setk(err, ERROR_NOTFOUND, "unit %s was removed", unit);
	}
	catalog_unit_free(&u);
	a->unit = xstrdup(unit);
	a->tenant = xstrdup(tenant);
	if (item_mode(item, &mode, err) < 0)
		return -1;
	a->mode = xstrdup(catalog_restore_mode_name(mode));
	if (item_paths(item, mode, &a->patterns, err) < 0 ||
	    item_seq(c, tenant, unit, item, &a->seq, err) < 0 ||
	    unit_restore_busy(c, tenant, unit, err) < 0)
		return -1;
	a->state = xstrdup(catalog_session_state_name(CATALOG_SESSION_PENDING));
	return 0;
}

/* Artifacts of the request's items; every unit once. */
static int session_items(struct catalog *c, const char *tenant, struct json_object *in,
			 struct catalog_session *cs, struct error *err)
{
	struct json_object *items;
	size_t i, k, n;

	if (in == NULL || !json_object_object_get_ex(in, "items", &items) ||
	    !json_object_is_type(items, json_type_array))
		return error_setk(err, ERROR_USAGE, "\"items\" (an array) is missing");
	n = json_object_array_length(items);
	if (n == 0 || n > SESSION_MAX_ITEMS)
		return error_setk(err, ERROR_USAGE, "\"items\": expected 1 to %d units",
				  SESSION_MAX_ITEMS);
	cs->artifacts = xcalloc(n, sizeof(*cs->artifacts));
	for (i = 0; i < n; i++) {
		struct catalog_artifact *a = xcalloc(1, sizeof(*a));

		cs->artifacts[cs->nartifacts++] = a;
		if (item_artifact(c, tenant, json_object_array_get_idx(items, i), a, err) < 0)
			return error_prefix(err, "items[%zu]", i);
		for (k = 0; k < i; k++)
			if (strcmp(cs->artifacts[k]->unit, a->unit) == 0)
				return error_setk(err, ERROR_USAGE, "items[%zu]: unit %s is already "
						  "in items[%zu]", i, a->unit, k);
	}
	return 0;
}

static void session_parts_free(struct catalog_session *cs)
{
	for (size_t i = 0; i < cs->nartifacts; i++)
		catalog_artifact_free(&cs->artifacts[i]);
	free(cs->artifacts);
	free(cs->id);
	free(cs->tenant);
	free(cs->created_by);
	free(cs->state);
}

static struct json_object *session_audit_detail(const struct catalog_session *cs)
{
	struct json_object *d = json_object_new_object(), *arr = json_object_new_array();

	for (size_t i = 0; i < cs->nartifacts; i++) {
		const struct catalog_artifact *a = cs->artifacts[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "unit", json_object_new_string(a->unit));
		json_object_object_add(o, "restorePoint", json_object_new_int64(a->seq));
		json_object_object_add(o, "mode", json_object_new_string(a->mode));
		if (a->patterns)
			json_object_object_add(o, "paths", json_tokener_parse(a->patterns));
		json_object_array_add(arr, o);
	}
	json_object_object_add(d, "items", arr);
	return d;
}

static int session_plan(struct service *s, const struct svc_principal *p, const char *tenant,
			struct catalog_session *cs, struct json_object **out, struct error *err);

/* "dryRun": true asks for a plan instead of a session. */
static int session_dry_run(struct json_object *in, int *dry_r, struct error *err)
{
	struct json_object *v;

	*dry_r = 0;
	if (in == NULL || !json_object_object_get_ex(in, "dryRun", &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return error_setk(err, ERROR_USAGE, "\"dryRun\": expected true or false");
	*dry_r = json_object_get_boolean(v);
	return 0;
}

int svc_session_create(struct service *s, const struct svc_principal *p, const char *tenant,
		       struct json_object *in, struct json_object **out, struct error *err)
{
	struct catalog *c = svc_catalog(s);
	struct catalog_session cs = { 0 };
	struct catalog_session *got = NULL;
	struct json_object *detail;
	int64_t now = svc_now(s);
	int ret = -1, locked = 1, dry;
	size_t i;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_RESTORE, err) < 0 ||
	    session_dry_run(in, &dry, err) < 0)
		return -1;
	/* From the busy check to the queueing: two requests for one unit at
	 * once would both pass the check, and the catalog would hand the
	 * second session the first one's job (its artifact never runs). */
	svc_lock(s);
	if (session_items(c, tenant, in, &cs, err) < 0)
		goto out;
	if (dry) { /* checked as a session is; nothing created, nothing queued */
		svc_unlock(s);
		locked = 0;
		ret = session_plan(s, p, tenant, &cs, out, err);
		goto out;
	}
	cs.tenant = xstrdup(tenant);
	cs.created_by = xstrdup(p->token_id ? p->token_id : "system");
	cs.state = xstrdup(catalog_session_state_name(CATALOG_SESSION_PENDING));
	cs.created = now;
	if (catalog_session_create(c, &cs, err) < 0)
		goto out;
	/* Audited before any job can run; if auditing fails, nothing runs. */
	detail = session_audit_detail(&cs);
	ret = svc_audit(s, p, tenant, "restoreSession.create", cs.id, detail, err);
	json_object_put(detail);
	if (ret < 0) {
		struct error e2;

		error_init(&e2);
		if (catalog_session_set_state(c, cs.id, CATALOG_SESSION_FAILED, now, &e2) < 0)
			log_error("restore session %s: %s", cs.id, e2.msg);
		goto out;
	}
	ret = -1;
	for (i = 0; i < cs.nartifacts; i++) {
		struct catalog_job j = {
			.tenant = cs.tenant,
			.unit = cs.artifacts[i]->unit,
			.kind = svc_in(catalog_job_kind_name(CATALOG_JOB_RESTORE)),
			.session = cs.id,
			.state = svc_in(catalog_job_state_name(CATALOG_JOB_QUEUED)),
			.created = now,
			.not_before = now,
		};
		int64_t id;

		if (catalog_job_enqueue(c, &j, &id, err) < 0) {
			error_prefix(err, "restore session %s: queueing unit %s", cs.id,
				     cs.artifacts[i]->unit);
			goto out;
		}
	}
	svc_unlock(s);
	locked = 0;
	svc_kick_workers(s);
	if (catalog_session_get(c, tenant, cs.id, &got, err) < 0)
		goto out;
	*out = view_session(got, now);
	ret = 0;
out:
	if (locked)
		svc_unlock(s);
	catalog_session_free(&got);
	session_parts_free(&cs);
	return ret;
}

/* ---- running one artifact ---- */

/* Artifacts running in this process, per session: the parallel limit. */
struct session_slots {
	char *session;
	int running;
	struct session_slots *next;
};
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_slots *slots;

static int slot_take(const char *session, int limit)
{
	struct session_slots *sl;
	int ok = 0;

	pthread_mutex_lock(&slots_lock);
	for (sl = slots; sl && strcmp(sl->session, session) != 0; sl = sl->next)
		;
	if (sl == NULL) {
		sl = xcalloc(1, sizeof(*sl));
		sl->session = xstrdup(session);
		sl->next = slots;
		slots = sl;
	}
	if (sl->running < limit) {
		sl->running++;
		ok = 1;
	}
	pthread_mutex_unlock(&slots_lock);
	return ok;
}

static void slot_give(const char *session)
{
	struct session_slots **pp, *sl;

	pthread_mutex_lock(&slots_lock);
	for (pp = &slots; (sl = *pp) != NULL; pp = &sl->next)
		if (strcmp(sl->session, session) == 0) {
			if (--sl->running <= 0) {
				*pp = sl->next;
				free(sl->session);
				free(sl);
			}
			break;
		}
	pthread_mutex_unlock(&slots_lock);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A dry run's plan of one artifact (restore sessions' "dryRun"). */
#define PLAN_SAMPLE 200
struct plan {
	uint64_t write, remove, attrs;
	struct json_object *sample; /* the first PLAN_SAMPLE actions */
};

struct artifact_run {
	struct service *s;
	struct catalog_artifact *a;
	int64_t last_write; /* monotonic ns of the last catalog write */
	struct plan *plan;  /* a dry run: nothing written, the catalog untouched */
};

static void artifact_write(struct artifact_run *ar)
{
	struct error err;

	error_init(&err);
	ar->last_write = mono_ns();
	if (catalog_artifact_update(svc_catalog(ar->s), ar->a, &err) < 0)
		log_warn("restore session %s, unit %s: progress not recorded: %s", ar->a->session,
			 ar->a->unit, err.msg);
}

static void artifact_progress(void *ctx, uint64_t items_done, uint64_t bytes_done)
{
	struct artifact_run *ar = ctx;

	ar->a->items_done = items_done;
	ar->a->bytes_done = bytes_done;
	if (ar->a->items_done > ar->a->items_total)
		ar->a->items_total = ar->a->items_done;
	if (ar->a->bytes_done > ar->a->bytes_total)
		ar->a->bytes_total = ar->a->bytes_done;
	if (mono_ns() - ar->last_write >= PROGRESS_EVERY_NS)
		artifact_write(ar);
}

static void artifact_total(void *ctx, uint64_t items_total, uint64_t bytes_total)
{
	struct artifact_run *ar = ctx;

	ar->a->items_total = items_total;
	ar->a->bytes_total = bytes_total;
	artifact_write(ar);
}

/* The session's state from its artifacts: running while one is not done,
 * then succeeded if all succeeded, else failed. */
static void session_settle(struct service *s, const char *tenant, const char *id)
{
	struct catalog *c = svc_catalog(s);
	struct catalog_session *cs = NULL;
	struct error err;
	size_t i, done = 0, failed = 0;
	enum catalog_session_state state;

	error_init(&err);
	if (catalog_session_get(c, tenant, id, &cs, &err) < 0)
		goto fail;
	for (i = 0; i < cs->nartifacts; i++) {
		enum catalog_session_state st = catalog_session_state_of(cs->artifacts[i]->state);

		if (st == CATALOG_SESSION_SUCCEEDED || st == CATALOG_SESSION_FAILED)
			done++;
		if (st == CATALOG_SESSION_FAILED)
			failed++;
	}
	if (done < cs->nartifacts)
		state = CATALOG_SESSION_RUNNING;
	else
		state = failed ? CATALOG_SESSION_FAILED : CATALOG_SESSION_SUCCEEDED;
	if (state != catalog_session_state_of(cs->state) &&
	    catalog_session_set_state(c, id, state, done < cs->nartifacts ? 0 : svc_now(s),
				      &err) < 0)
		goto fail;
	catalog_session_free(&cs);
	return;
fail:
	catalog_session_free(&cs);
	log_error("restore session %s: state not updated: %s", id, err.msg);
}

/* The patterns of a granular artifact as an array of strings. */
static int artifact_patterns(const struct catalog_artifact *a, char ***pats_r, size_t *n_r,
			     struct error *err)
{
	struct json_object *arr;
	size_t i, n;

	*pats_r = NULL;
	*n_r = 0;
	if (a->patterns == NULL)
		return 0;
	arr = json_tokener_parse(a->patterns);
	if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return error_set(err, "paths of the artifact are not a JSON array");
	}
	n = json_object_array_length(arr);
	*pats_r = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		(*pats_r)[i] = xstrdup(json_object_get_string(json_object_array_get_idx(arr, i)));
	*n_r = n;
	json_object_put(arr);
	return 0;
}

/* Where a new-location artifact writes: chosen once (the folder source
 * creates "<path>.restored-N"), then kept, so a job run again after a
 * restart finishes the same folder. */
static struct json_object *artifact_target(struct service *s, const struct source_ops *ops,
					   struct catalog_artifact *a, struct json_object *source,
					   const char *beneath, int dry_run, struct error *err)
{
	struct json_object *t, *path;

	if (a->target != NULL) {
		t = json_tokener_parse(a->target);
		if (t != NULL && json_object_is_type(t, json_type_object)) {
			/* The stored target has no secret (below): the unit's. */
			if (json_object_object_get_ex(source, "secret", &path))
				json_object_object_add(t, "secret", json_object_get(path));
			return t;
		}
		json_object_put(t);
		/* A folder's path: the source with that path. */
		t = json_tokener_parse(json_object_to_json_string(source));
		json_object_object_add(t, "path", json_object_new_string(a->target));
		return t;
	}
	t = ops->new_location(source, beneath, svc_now(s), dry_run, err);
	if (t == NULL)
		return NULL;
	free(a->target);
	if (json_object_object_get_ex(t, "path", &path) &&
	    json_object_is_type(path, json_type_string))
		a->target = xstrdup(json_object_get_string(path));
	else {
		/* A mailbox's target is its source, opened secret included:
		 * the catalog and the API see it without. */
		struct json_object *shown = NULL;

		if (json_object_deep_copy(t, &shown, NULL) < 0 || shown == NULL) {
			json_object_put(t);
			error_set(err, "cannot copy the restore target");
			return NULL;
		}
		json_object_object_del(shown, "secret");
		a->target = xstrdup(json_object_to_json_string_ext(shown, JSON_C_TO_STRING_PLAIN));
		json_object_put(shown);
	}
	return t;
}

static void plan_add(void *ctx, const char *action, const char *path)
{
	struct plan *pl = ((struct artifact_run *)ctx)->plan;
	const char *shown = action;
	struct json_object *o;

	if (strcmp(action, "remove") == 0) {
		pl->remove++;
	} else if (strcmp(action, "attrs") == 0) {
		pl->attrs++;
	} else { /* write, mkdir, link */
		pl->write++;
		shown = "write";
	}
	if (json_object_array_length(pl->sample) >= PLAN_SAMPLE)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "action", json_object_new_string(shown));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_array_add(pl->sample, o);
}

/* Runs artifact a's restore; with pl, plans it instead (the source's dry
 * run: nothing written, no catalog write, a new location only named). */
static int artifact_run(struct service *s, struct catalog_artifact *a, struct plan *pl,
			struct source_restore_result *res, struct error *err)
{
	struct catalog *c = svc_catalog(s);
	struct source_restore_opts ro = { .quiet = 1, .dry_run = pl != NULL, .plan = plan_add };
	struct artifact_run ar = { .s = s, .a = a, .plan = pl };
	struct catalog_unit *u = NULL;
	struct catalog_rp *rp = NULL;
	struct json_object *source = NULL, *target = NULL;
	const struct source_ops *ops;
	struct store *st = NULL;
	char *spec = NULL, *beneath = NULL;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	/* With folder_root, everything is written beneath the tenant's folder
	 * with no link followed (the unit, a new location beside it). */
	if (catalog_unit_get(c, a->tenant, a->unit, &u, err) < 0 ||
	    (source = svc_unit_source_open(s, u, err)) == NULL ||
	    (ops = source_find(source, err)) == NULL ||
	    svc_folder_beneath(s, a->tenant, &beneath, err) < 0)
		goto out;
	if (catalog_restore_mode_of(a->mode) == CATALOG_MODE_NEW_LOCATION &&
	    (target = artifact_target(s, ops, a, source, beneath, pl != NULL, err)) == NULL)
		goto out;
	if (artifact_patterns(a, &ro.patterns, &ro.npatterns, err) < 0)
		goto out;
	/* Until the source knows better: the point's entries, for the ETA. */
	if (catalog_rp_get(c, a->tenant, a->unit, a->seq, &rp, err) < 0)
		goto out;
	if (ro.npatterns == 0)
		a->items_total = rp->files;
	a->bytes_total = 0;
	a->items_done = a->bytes_done = 0;
	if (pl == NULL)
		artifact_write(&ar);
	st = svc_tenant_store(s, a->tenant, 0, err);
	if (st == NULL)
		goto out;
	spec = xasprintf("%s@%" PRIu32, a->unit, a->seq);
	ro.rp = spec;
	ro.source = source;
	ro.target = target;
	ro.beneath = beneath;
	ro.progress = pl ? NULL : artifact_progress;
	ro.total = pl ? NULL : artifact_total;
	ro.ctx = &ar;
	ro.netpolicy = svc_netpolicy(s);
	ret = ops->restore(st, &ro, res, err);
out:
	if (ro.patterns)
		for (size_t i = 0; i < ro.npatterns; i++)
			free(ro.patterns[i]);
	free(ro.patterns);
	free(spec);
	free(beneath);
	store_close(&st);
	catalog_rp_free(&rp);
	json_object_put(target);
	json_object_put(source);
	catalog_unit_free(&u);
	return ret;
}

/* The target an artifact's JSON shows: a folder's path, another source's
 * JSON (without its secret), null in place. */
static struct json_object *target_json(const char *target)
{
	struct json_object *t;

	if (target == NULL)
		return NULL;
	if (target[0] == '{' && (t = json_tokener_parse(target)) != NULL)
		return t;
	return json_object_new_string(target);
}

/* The plan of one artifact, as a dry run answers it; an artifact that
 * cannot be planned says why in "error" and the others go on. */
static struct json_object *artifact_plan(struct service *s, struct catalog_artifact *a)
{
	struct plan pl = { .sample = json_object_new_array() };
	struct json_object *o = json_object_new_object();
	struct source_restore_result res;
	struct catalog_rp *rp = NULL;
	struct error err;
	int ret;

	error_init(&err);
	ret = artifact_run(s, a, &pl, &res, &err);
	json_object_object_add(o, "unit", json_object_new_string(a->unit));
	json_object_object_add(o, "restorePoint", json_object_new_int64(a->seq));
	json_object_object_add(o, "mode", json_object_new_string(
		view_restore_mode_name(catalog_restore_mode_of(a->mode))));
	if (a->patterns)
		json_object_object_add(o, "paths", json_tokener_parse(a->patterns));
	json_object_object_add(o, "target", target_json(a->target));
	if (ret < 0) {
		json_object_object_add(o, "error", json_object_new_string(err.msg));
	} else if (res.estimate) {
		/* The source did not compare: every item of the point counted as
		 * written, which is what a restore would at most do. */
		if (catalog_rp_get(svc_catalog(s), a->tenant, a->unit, a->seq, &rp, &err) < 0)
			json_object_object_add(o, "error", json_object_new_string(err.msg));
		json_object_object_add(o, "plan", json_object_new_string("estimate"));
		json_object_object_add(o, "write", json_object_new_int64(rp ? (int64_t)rp->files : 0));
		json_object_object_add(o, "remove", json_object_new_int64(0));
		json_object_object_add(o, "attrs", json_object_new_int64(0));
		json_object_object_add(o, "unchanged", json_object_new_int64(0));
		json_object_object_add(o, "bytes", json_object_new_int64(rp ? (int64_t)rp->bytes : 0));
		json_object_object_add(o, "sample", json_object_new_array());
		catalog_rp_free(&rp);
	} else {
		json_object_object_add(o, "plan", json_object_new_string("exact"));
		json_object_object_add(o, "write", json_object_new_int64((int64_t)pl.write));
		json_object_object_add(o, "remove", json_object_new_int64((int64_t)pl.remove));
		json_object_object_add(o, "attrs", json_object_new_int64((int64_t)pl.attrs));
		json_object_object_add(o, "unchanged", json_object_new_int64((int64_t)res.unchanged));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)res.bytes_done));
		json_object_object_add(o, "sample", json_object_get(pl.sample));
	}
	if (ret == 0)
		json_object_object_add(o, "withheld", svc_withheld_text(res.withheld, res.withheld_by));
	free(res.withheld_by);
	json_object_put(pl.sample);
	return o;
}

/* {"dryRun":true,"items":[plan of each artifact]}: audited
 * restoreSession.plan (a plan reads the point's names and the target). */
static int session_plan(struct service *s, const struct svc_principal *p, const char *tenant,
			struct catalog_session *cs, struct json_object **out, struct error *err)
{
	struct json_object *detail = session_audit_detail(cs), *items;
	int ret = svc_audit(s, p, tenant, "restoreSession.plan", NULL, detail, err);

	json_object_put(detail);
	if (ret < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < cs->nartifacts; i++)
		json_object_array_add(items, artifact_plan(s, cs->artifacts[i]));
	*out = json_object_new_object();
	json_object_object_add(*out, "dryRun", json_object_new_boolean(1));
	json_object_object_add(*out, "items", items);
	return 0;
}

static struct catalog_artifact *session_artifact(struct catalog_session *cs, const char *unit)
{
	for (size_t i = 0; i < cs->nartifacts; i++)
		if (strcmp(cs->artifacts[i]->unit, unit) == 0)
			return cs->artifacts[i];
	return NULL;
}

int svc_restore_job_run(struct service *s, const struct catalog_job *j, struct error *err)
{
	struct catalog *c = svc_catalog(s);
	struct catalog_session *cs = NULL;
	struct catalog_artifact *a;
	struct source_restore_result res;
	int limit = svc_cfg(s)->restore_parallel > 0 ? svc_cfg(s)->restore_parallel : 1;
	enum catalog_session_state state;
	int ret = -1;

	if (j->session == NULL || j->unit == NULL)
		return error_set(err, "restore job %" PRId64 " names no session or unit", j->id);
	if (catalog_session_get(c, j->tenant, j->session, &cs, err) < 0)
		return error_prefix(err, "restore job %" PRId64, j->id);
	a = session_artifact(cs, j->unit);
	if (a == NULL) {
		error_set(err, "restore session %s has no artifact for unit %s", j->session, j->unit);
		goto out;
	}
	state = catalog_session_state_of(a->state);
	if (state == CATALOG_SESSION_SUCCEEDED || state == CATALOG_SESSION_FAILED) {
		ret = 0; /* ran before; a repeated job changes nothing */
		goto out;
	}
	if (!slot_take(j->session, limit)) {
		/* The session's limit is reached: back to the queue for a moment.
		 * The worker sees the job is no longer running and leaves it. */
		ret = catalog_job_finish(c, j->id, NULL, 0, CATALOG_JOB_QUEUED, NULL, NULL, 0,
					 svc_now(s) + 1, err);
		goto out;
	}
	free(a->state);
	a->state = xstrdup(catalog_session_state_name(CATALOG_SESSION_RUNNING));
	free(a->error);
	a->error = NULL;
	a->started = svc_now(s);
	a->finished = 0;
	if (catalog_session_state_of(cs->state) == CATALOG_SESSION_PENDING &&
	    catalog_session_set_state(c, cs->id, CATALOG_SESSION_RUNNING, 0, err) < 0) {
		slot_give(j->session);
		goto out;
	}
	log_info("event=restore.start session=%s unit=%s restore_point=%" PRIu32 " mode=%s",
		 cs->id, a->unit, a->seq, a->mode);
	ret = artifact_run(s, a, NULL, &res, err);
	if (ret < 0 && svc_stopping(s)) {
		free(res.withheld_by);
		/* The worker puts the job back; it runs again after the restart. */
		free(a->state);
		a->state = xstrdup(catalog_session_state_name(CATALOG_SESSION_PENDING));
		artifact_write(&(struct artifact_run){ .s = s, .a = a });
		slot_give(j->session);
		goto out;
	}
	free(a->state);
	a->state = xstrdup(catalog_session_state_name(ret == 0 ? CATALOG_SESSION_SUCCEEDED
								: CATALOG_SESSION_FAILED));
	a->error = ret == 0 ? NULL : xstrdup(err->msg);
	if (res.items_total)
		a->items_total = res.items_total;
	a->items_done = res.items_done;
	if (res.bytes_done > a->bytes_done)
		a->bytes_done = res.bytes_done;
	if (ret == 0 && a->bytes_total < a->bytes_done)
		a->bytes_total = a->bytes_done;
	a->finished = svc_now(s);
	free(a->withheld);
	a->withheld = svc_withheld_json(res.withheld, res.withheld_by);
	free(res.withheld_by);
	artifact_write(&(struct artifact_run){ .s = s, .a = a });
	log_info("event=restore.end session=%s unit=%s state=%s items=%" PRIu64 " bytes=%" PRIu64,
		 cs->id, a->unit, a->state, a->items_done, a->bytes_done);
	/* The slot is given back once the artifact (and the log) shows it
	 * ended, so no more than the limit ever show "running". */
	slot_give(j->session);
	session_settle(s, j->tenant, j->session);
out:
	catalog_session_free(&cs);
	return ret;
}
