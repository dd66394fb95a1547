/* A tenant's protection at a glance (GET T/overview, docs/api.md "For the
 * console"): the console's front page in one call. Counts come from the
 * unit rows and one GROUP BY over the restore points (catalog_rp_stats),
 * so the cost grows with the units, not the points; anomalies are those of
 * recommend_points() over a bounded window of each recently backed-up
 * unit's newest points. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/internal.h"
#include "service/recommend.h"
#include "service/service.h"

/* Anomalies are looked for among a unit's last WINDOW_POINTS points, in
 * units with a point in the last WINDOW_DAYS days (by the service clock),
 * and only those of that age are shown: the front page is about now, and
 * the work stays bounded however long a unit's history. */
#define WINDOW_POINTS 50
#define WINDOW_DAYS 30
#define MAX_ANOMALIES 100

struct overview {
	struct service *s;
	const char *tenant;
	int64_t now, since;          /* Unix seconds; since: now - WINDOW_DAYS */
	struct catalog_rp_stats **st; /* by unit id */
	size_t nst;
	uint64_t total, protected_, failing, never, gone, unprotected, held, destroyed;
	uint64_t points, bytes, stored;
	uint64_t drills_passed, drills_failed;
	struct json_object *drill_alerts; /* units whose last drill failed */
	const struct catalog_unit *oldest; /* the unit whose newest point is oldest */
	int64_t oldest_ns;
	struct json_object *anomalies;
};

static int stats_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct catalog_rp_stats *const *)elem)->unit);
}

static const struct catalog_rp_stats *stats_of(const struct overview *o, const char *unit)
{
	struct catalog_rp_stats *const *x =
		bsearch(unit, o->st, o->nst, sizeof(*o->st), stats_cmp);

	return x ? *x : NULL;
}

/* Adds the anomalies of u's newest points taken since o->since. */
static int unit_anomalies(struct overview *o, const struct catalog_unit *u, struct error *err)
{
	struct catalog_rp_filter f = { .desc = 1 };
	struct catalog_page pg = { .limit = WINDOW_POINTS };
	struct catalog_rp **rps = NULL;
	struct json_object *rec, *list;
	size_t n = 0;

	if (catalog_rp_list(svc_catalog(o->s), o->tenant, u->id, &f, &pg, &rps, &n, err) < 0)
		return -1;
	/* recommend_points() wants them oldest first. */
	for (size_t i = 0; i < n / 2; i++) {
		struct catalog_rp *t = rps[i];

		rps[i] = rps[n - 1 - i];
		rps[n - 1 - i] = t;
	}
	rec = recommend_points(rps, n);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	if (!json_object_object_get_ex(rec, "anomalies", &list))
		list = NULL;
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		struct json_object *a = json_object_array_get_idx(list, i), *v, *x;

		if (!json_object_object_get_ex(a, "timeUnix", &v) || json_object_get_int64(v) < o->since)
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "unit", json_object_new_string(u->id));
		json_object_object_add(x, "unitName", json_object_new_string(u->name));
		for (const char *const *k = (const char *const[]){ "restorePoint", "time", "timeUnix",
								    "reason", NULL };
		     *k; k++)
			if (json_object_object_get_ex(a, *k, &v))
				json_object_object_add(x, *k, json_object_get(v));
		json_object_array_add(o->anomalies, x);
	}
	json_object_put(rec);
	return 0;
}

/* Counts one unit; looks for its anomalies when it was backed up lately. */
static int count_unit(struct overview *o, const struct catalog_unit *u, struct error *err)
{
	const struct catalog_rp_stats *st = stats_of(o, u->id);

	if (catalog_unit_state_of(u->state) == CATALOG_UNIT_DESTROYED) {
		o->destroyed++;
		return 0;
	}
	o->total++;
	if (st != NULL) {
		o->points += st->points;
		o->bytes += st->bytes;
		o->stored += st->stored_bytes;
	}
	if (u->failures > 0 || u->last_error != NULL)
		o->failing++;
	else if (st != NULL)
		o->protected_++;
	if (st == NULL)
		o->never++;
	if (u->source_gone_since != 0)
		o->gone++;
	if (catalog_unit_state_of(u->state) == CATALOG_UNIT_UNPROTECTED)
		o->unprotected++;
	if (u->legal_hold != NULL)
		o->held++;
	if (st == NULL)
		return 0;
	if (o->oldest == NULL || st->newest_ns < o->oldest_ns) {
		o->oldest = u;
		o->oldest_ns = st->newest_ns;
	}
	return st->newest_ns / 1000000000 >= o->since ? unit_anomalies(o, u, err) : 0;
}

/* The last drill of each unit: counted, and a failed one listed. */
static int overview_drills(struct overview *o, struct error *err)
{
	struct catalog_drill **ds = NULL;
	struct catalog_unit *u = NULL;
	struct error ignore;
	size_t n = 0;

	if (catalog_drill_latest(svc_catalog(o->s), o->tenant, NULL, &ds, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *x, *detail, *list;

		if (strcmp(ds[i]->state, "passed") == 0) {
			o->drills_passed++;
			continue;
		}
		o->drills_failed++;
		x = json_object_new_object();
		json_object_object_add(x, "unit", json_object_new_string(ds[i]->unit));
		error_init(&ignore);
		if (catalog_unit_get(svc_catalog(o->s), o->tenant, ds[i]->unit, &u, &ignore) == 0)
			json_object_object_add(x, "unitName", json_object_new_string(u->name));
		catalog_unit_free(&u);
		json_object_object_add(x, "drill", json_object_new_int64(ds[i]->seq));
		json_object_object_add(x, "finishedUnix", json_object_new_int64(ds[i]->finished));
		json_object_object_add(x, "problems", json_object_new_int64(ds[i]->problems));
		detail = ds[i]->detail ? json_tokener_parse(ds[i]->detail) : NULL;
		if (detail && json_object_object_get_ex(detail, "problemList", &list) &&
		    json_object_array_length(list) > 0)
			json_object_object_add(x, "firstProblem",
					       json_object_get(json_object_array_get_idx(list, 0)));
		json_object_put(detail);
		json_object_array_add(o->drill_alerts, x);
	}
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
	return 0;
}

static int anomaly_newest_first(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b;
	struct json_object *tx, *ty;
	int64_t ix, iy;

	json_object_object_get_ex(x, "timeUnix", &tx);
	json_object_object_get_ex(y, "timeUnix", &ty);
	ix = json_object_get_int64(tx);
	iy = json_object_get_int64(ty);
	return ix > iy ? -1 : ix < iy;
}

static struct json_object *overview_json(struct overview *o, const struct catalog_unit *oldest)
{
	struct json_object *out = json_object_new_object(), *u = json_object_new_object();
	char when[32];

	json_object_object_add(u, "total", json_object_new_int64((int64_t)o->total));
	json_object_object_add(u, "protected", json_object_new_int64((int64_t)o->protected_));
	json_object_object_add(u, "failing", json_object_new_int64((int64_t)o->failing));
	json_object_object_add(u, "neverBackedUp", json_object_new_int64((int64_t)o->never));
	json_object_object_add(u, "sourceGone", json_object_new_int64((int64_t)o->gone));
	json_object_object_add(u, "unprotected", json_object_new_int64((int64_t)o->unprotected));
	json_object_object_add(u, "legalHold", json_object_new_int64((int64_t)o->held));
	json_object_object_add(u, "destroyed", json_object_new_int64((int64_t)o->destroyed));
	json_object_object_add(out, "units", u);
	json_object_object_add(out, "restorePoints", json_object_new_int64((int64_t)o->points));
	json_object_object_add(out, "bytes", json_object_new_int64((int64_t)o->bytes));
	json_object_object_add(out, "storedBytes", json_object_new_int64((int64_t)o->stored));
	json_object_array_sort(o->anomalies, anomaly_newest_first);
	while (json_object_array_length(o->anomalies) > MAX_ANOMALIES)
		json_object_array_del_idx(o->anomalies, MAX_ANOMALIES,
					  json_object_array_length(o->anomalies) - MAX_ANOMALIES);
	json_object_object_add(out, "anomalies", json_object_get(o->anomalies));
	json_object_object_add(out, "anomalyWindowDays", json_object_new_int(WINDOW_DAYS));
	/* Next to failing backups: units whose last restore drill failed
	 * (docs/service.md "Restore drills"). */
	u = json_object_new_object();
	json_object_object_add(u, "passed", json_object_new_int64((int64_t)o->drills_passed));
	json_object_object_add(u, "failed", json_object_new_int64((int64_t)o->drills_failed));
	json_object_object_add(u, "failedUnits", json_object_get(o->drill_alerts));
	json_object_object_add(out, "drills", u);
	if (oldest != NULL) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "unit", json_object_new_string(oldest->id));
		json_object_object_add(x, "unitName", json_object_new_string(oldest->name));
		time_format(o->oldest_ns / 1000000000, when);
		json_object_object_add(x, "lastSuccess", json_object_new_string(when));
		json_object_object_add(x, "lastSuccessUnix",
				       json_object_new_int64(o->oldest_ns / 1000000000));
		json_object_object_add(out, "oldestLastSuccess", x);
	} else {
		json_object_object_add(out, "oldestLastSuccess", NULL);
	}
	return out;
}

int svc_overview(struct service *s, const struct svc_principal *p, const char *tenant,
		 struct json_object **out, struct error *err)
{
	struct overview o = { .s = s, .tenant = tenant };
	struct catalog_page pg = { .limit = 1000 };
	struct catalog_unit **us = NULL, *oldest = NULL;
	char *after = NULL;
	size_t n = 0;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_rp_stats(svc_catalog(s), tenant, &o.st, &o.nst, err) < 0)
		return -1;
	o.now = svc_now(s);
	o.since = o.now - (int64_t)WINDOW_DAYS * 86400;
	o.anomalies = json_object_new_array();
	o.drill_alerts = json_object_new_array();
	if (overview_drills(&o, err) < 0)
		goto out;
	do { /* the units, a page at a time */
		pg.after = after;
		if (catalog_unit_list(svc_catalog(s), tenant, NULL, &pg, &us, &n, err) < 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			if (count_unit(&o, us[i], err) < 0) {
				CATALOG_LIST_FREE(us, n, catalog_unit_free);
				goto out;
			}
			if (o.oldest == us[i]) { /* keep it past this page */
				catalog_unit_free(&oldest);
				oldest = us[i];
				us[i] = NULL;
				o.oldest = oldest;
			}
		}
		free(after);
		after = n > 0 ? xstrdup(us[n - 1] ? us[n - 1]->id : oldest->id) : NULL;
		CATALOG_LIST_FREE(us, n, catalog_unit_free);
	} while (n == (size_t)pg.limit);
	*out = overview_json(&o, oldest);
	ret = 0;
out:
	free(after);
	catalog_unit_free(&oldest);
	json_object_put(o.anomalies);
	json_object_put(o.drill_alerts);
	CATALOG_LIST_FREE(o.st, o.nst, catalog_rp_stats_free);
	return ret;
}
