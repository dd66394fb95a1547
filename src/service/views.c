/* Catalog records as the API shows them (docs/api.md "Resources"). */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "engine/views.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/views.h"

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static void add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

/* As engine/views' view_add_time, but both null when t is 0 (never). */
static void add_time(struct json_object *o, const char *key, int64_t t)
{
	char k[64];

	if (t != 0) {
		view_add_time(o, key, t);
		return;
	}
	snprintf(k, sizeof(k), "%sUnix", key);
	json_object_object_add(o, key, NULL);
	json_object_object_add(o, k, NULL);
}

/* Stored JSON text as JSON; text that does not parse stays a string. */
static void add_json(struct json_object *o, const char *key, const char *text)
{
	struct json_object *v;

	if (text == NULL) {
		json_object_object_add(o, key, NULL);
		return;
	}
	v = json_tokener_parse(text);
	json_object_object_add(o, key, v ? v : json_object_new_string(text));
}

struct json_object *view_tenant(const struct catalog_tenant *t)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "id", t->id);
	add_str(o, "name", t->name);
	add_str(o, "state", t->state);
	add_str(o, "location", svc_tenant_location_name(t));
	add_time(o, "created", t->created);
	add_int(o, "minRetentionDays", t->min_retention_days);
	/* docs/privacy.md 7 */
	add_int(o, "offboardGraceDays", t->offboard_grace_days);
	add_int(o, "destroyDelayDays", t->destroy_delay_days);
	json_object_object_add(o, "erasureFourEyes", json_object_new_boolean(t->erasure_four_eyes));
	if (t->legal_hold != NULL) {
		struct json_object *h = json_object_new_object();

		add_str(h, "reason", t->legal_hold);
		add_time(h, "since", t->legal_hold_since);
		json_object_object_add(o, "legalHold", h);
	} else {
		json_object_object_add(o, "legalHold", NULL);
	}
	if (t->offboard_due != 0) {
		struct json_object *h = json_object_new_object();

		add_time(h, "requested", t->offboard_requested);
		add_time(h, "due", t->offboard_due);
		json_object_object_add(o, "offboarding", h);
	} else {
		json_object_object_add(o, "offboarding", NULL);
	}
	return o;
}

/* A unit's source without secrets: the catalog keeps them encrypted, and
 * even so they are nobody's business through the API. */
static struct json_object *source_view(const char *text)
{
	static const char *const hidden[] = { "secret", "password", "secretSealed" };
	struct json_object *v;

	if (text == NULL)
		return NULL;
	v = json_tokener_parse(text);
	if (v == NULL)
		return json_object_new_string("(unreadable)");
	if (json_object_is_type(v, json_type_object))
		for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
			json_object_object_del(v, hidden[i]);
	return v;
}

struct json_object *view_unit(const struct catalog_unit *u)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "id", u->id);
	add_str(o, "tenant", u->tenant);
	add_str(o, "kind", u->kind);
	add_str(o, "name", u->name);
	json_object_object_add(o, "source", source_view(u->source));
	add_str(o, "policy", u->policy);
	add_str(o, "state", u->state);
	add_str(o, "lastError", u->last_error);
	add_int(o, "failures", u->failures);
	add_time(o, "created", u->created);
	add_time(o, "lastSuccess", u->last_success);
	add_time(o, "lastAttempt", u->last_attempt);
	add_time(o, "nextDue", u->next_due);
	if (u->legal_hold != NULL) {
		struct json_object *h = json_object_new_object();

		add_str(h, "reason", u->legal_hold);
		add_time(h, "since", u->legal_hold_since);
		json_object_object_add(o, "legalHold", h);
	} else {
		json_object_object_add(o, "legalHold", NULL);
	}
	add_time(o, "sourceGone", u->source_gone_since); /* docs/privacy.md 6 */
	/* docs/privacy.md 5: pending (requested, due), or done ("destroyed"). */
	if (catalog_unit_state_of(u->state) == CATALOG_UNIT_DESTROYED) {
		add_time(o, "destroyed", u->destroy_due);
	} else {
		add_time(o, "destroyRequested", u->destroy_requested);
		add_time(o, "destroyDue", u->destroy_due);
	}
	return o;
}

/* A policy's rules as shown: a sealed secret is the catalog's only. */
static void add_rules(struct json_object *o, const char *rules)
{
	struct json_object *r = json_tokener_parse(rules);

	for (size_t i = 0; r && json_object_is_type(r, json_type_array) &&
			   i < json_object_array_length(r); i++) {
		struct json_object *rule = json_object_array_get_idx(r, i);

		if (json_object_is_type(rule, json_type_object))
			json_object_object_del(rule, "secretSealed");
	}
	json_object_object_add(o, "rules", r);
}

struct json_object *view_policy(const struct catalog_policy *p)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "id", p->id);
	add_str(o, "tenant", p->tenant);
	add_str(o, "name", p->name);
	add_str(o, "kind", p->kind);
	add_str(o, "state", p->state);
	add_json(o, "units", p->units ? p->units : "[]");
	add_rules(o, p->rules ? p->rules : "[]");
	add_int(o, "frequencySeconds", p->frequency_s);
	add_int(o, "recentDays", p->recent_days);
	add_int(o, "retentionDays", p->retention_days);
	json_object_object_add(o, "drill", svc_drill_settings_view(p->drill, p->kind));
	add_time(o, "created", p->created);
	add_time(o, "updated", p->updated);
	return o;
}

struct json_object *view_rp(const struct catalog_rp *rp)
{
	struct json_object *o = json_object_new_object();
	int64_t s = rp->time_ns / 1000000000;

	add_str(o, "tenant", rp->tenant);
	add_str(o, "unit", rp->unit);
	add_int(o, "seq", rp->seq);
	add_time(o, "time", s);
	add_int(o, "timeNs", rp->time_ns);
	add_str(o, "hash", rp->hash);
	add_int(o, "files", (int64_t)rp->files);
	add_int(o, "bytes", (int64_t)rp->bytes);
	add_int(o, "newBytes", (int64_t)rp->new_bytes);
	add_int(o, "storedBytes", (int64_t)rp->stored_bytes);
	add_int(o, "incompressibleBytes", (int64_t)rp->incompressible_bytes);
	add_int(o, "changedEntries", (int64_t)rp->changed_entries);
	add_int(o, "warnings", rp->nwarnings);
	json_object_object_add(o, "forgotten", json_object_new_boolean(rp->forgotten));
	/* Fixed when the point was taken; absent for points from before
	 * they were recorded (the policy of the day governs those). */
	if (rp->keep_until > 0)
		add_time(o, "keepUntil", rp->keep_until);
	if (rp->retain_until > 0)
		add_time(o, "retainUntil", rp->retain_until);
	return o;
}

struct json_object *view_job(const struct catalog_job *j)
{
	struct json_object *o = json_object_new_object();

	add_int(o, "id", j->id);
	add_str(o, "tenant", j->tenant);
	add_str(o, "unit", j->unit);
	add_str(o, "kind", j->kind);
	add_str(o, "session", j->session);
	add_str(o, "state", j->state);
	add_str(o, "error", j->error);
	add_json(o, "detail", j->detail);
	add_int(o, "attempts", j->attempts);
	add_time(o, "created", j->created);
	add_time(o, "notBefore", j->not_before);
	add_time(o, "started", j->started);
	add_time(o, "finished", j->finished);
	add_str(o, "node", j->owner);
	add_time(o, "leaseUntil", j->lease_until);
	return o;
}

/* The API's camelCase names of the catalog's restore modes. */
static const char *const restore_modes[] = {
	[CATALOG_MODE_IN_PLACE] = "inPlace",
	[CATALOG_MODE_NEW_LOCATION] = "newLocation",
	[CATALOG_MODE_GRANULAR] = "granular",
};

const char *view_entry_type(uint8_t type)
{
	static const char *const names[] = { "unknown", "file", "dir", "symlink", "hardlink",
					     "fifo", "chr", "blk", "sock" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

const char *view_restore_mode_name(enum catalog_restore_mode m)
{
	return m > 0 && (size_t)m < sizeof(restore_modes) / sizeof(restore_modes[0])
		       ? restore_modes[m]
		       : NULL;
}

enum catalog_restore_mode view_restore_mode_of(const char *name)
{
	for (size_t i = 1; name && i < sizeof(restore_modes) / sizeof(restore_modes[0]); i++)
		if (strcmp(restore_modes[i], name) == 0)
			return (enum catalog_restore_mode)i;
	return 0;
}

/* A mode the table does not know is shown as the catalog has it. */
static const char *mode_name(const char *m)
{
	enum catalog_restore_mode mode = catalog_restore_mode_of(m);

	return mode ? view_restore_mode_name(mode) : m;
}

static struct json_object *view_artifact(const struct catalog_artifact *a, int64_t now)
{
	struct json_object *o = json_object_new_object();
	double done = 0;

	add_str(o, "unit", a->unit);
	add_int(o, "restorePoint", a->seq);
	add_str(o, "mode", mode_name(a->mode));
	add_str(o, "target", a->target);
	add_json(o, "paths", a->patterns);
	add_str(o, "state", a->state);
	add_str(o, "error", a->error);
	add_int(o, "itemsDone", (int64_t)a->items_done);
	add_int(o, "itemsTotal", (int64_t)a->items_total);
	add_int(o, "bytesDone", (int64_t)a->bytes_done);
	add_int(o, "bytesTotal", (int64_t)a->bytes_total);
	if (a->bytes_total > 0)
		done = (double)a->bytes_done / (double)a->bytes_total;
	else if (a->items_total > 0)
		done = (double)a->items_done / (double)a->items_total;
	if (catalog_session_state_of(a->state) == CATALOG_SESSION_SUCCEEDED)
		done = 1;
	json_object_object_add(o, "progress", json_object_new_double(done > 1 ? 1 : done));
	/* ETA from the rate so far; unknown until something was done. */
	if (catalog_session_state_of(a->state) == CATALOG_SESSION_RUNNING && a->started > 0 &&
	    done > 0 &&
	    done < 1 && now > a->started)
		add_int(o, "etaSeconds", (int64_t)((double)(now - a->started) * (1 - done) / done));
	else
		json_object_object_add(o, "etaSeconds", NULL);
	add_time(o, "started", a->started);
	add_time(o, "finished", a->finished);
	add_json(o, "withheld", a->withheld ? a->withheld : "{\"items\":0,\"byRequest\":[]}");
	return o;
}

struct json_object *view_session(const struct catalog_session *s, int64_t now)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arts = json_object_new_array();

	add_str(o, "id", s->id);
	add_str(o, "tenant", s->tenant);
	add_str(o, "createdBy", s->created_by);
	add_str(o, "state", s->state);
	add_time(o, "created", s->created);
	add_time(o, "finished", s->finished);
	for (size_t i = 0; i < s->nartifacts; i++)
		json_object_array_add(arts, view_artifact(s->artifacts[i], now));
	json_object_object_add(o, "artifacts", arts);
	return o;
}

struct json_object *view_token(const struct catalog_token *t)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "id", t->id);
	add_str(o, "tenant", t->tenant);
	add_str(o, "role", t->role);
	add_str(o, "name", t->name);
	add_time(o, "created", t->created);
	add_time(o, "lastUsed", t->last_used);
	json_object_object_add(o, "revoked", json_object_new_boolean(t->revoked));
	return o;
}

struct json_object *view_audit(const struct catalog_audit *a)
{
	struct json_object *o = json_object_new_object();

	add_int(o, "seq", a->seq);
	add_time(o, "time", a->time);
	add_str(o, "tenant", a->tenant);
	add_str(o, "actor", a->actor);
	add_str(o, "action", a->action);
	add_str(o, "target", a->target);
	add_json(o, "detail", a->detail);
	add_str(o, "prev", a->prev);
	add_str(o, "hash", a->hash);
	return o;
}

struct json_object *view_erasure(const struct catalog_erasure *e, const char *waiting)
{
	struct json_object *o = json_object_new_object();
	struct json_object *spec = json_tokener_parse(e->spec);

	add_str(o, "id", e->id);
	add_str(o, "kind", e->kind);
	json_object_object_foreach(spec, key, val)
		json_object_object_add(o, key, json_object_get(val));
	json_object_put(spec);
	add_str(o, "reason", e->reason);
	add_str(o, "state", e->state);
	add_str(o, "requestedBy", e->requested_by);
	add_time(o, "requested", e->requested);
	add_str(o, "decidedBy", e->decided_by);
	add_time(o, "decided", e->decided);
	add_time(o, "effective", e->effective);
	add_str(o, "waitingFor", waiting);
	add_json(o, "withholds", e->detail);
	return o;
}
