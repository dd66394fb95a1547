/* Recommended restore points (docs/service.md "Recommendations"): a rule
 * over the catalog's per-point statistics, nothing else, so it costs no
 * store reads and is tested alone (recommend_points()); svc_recommend()
 * below feeds it a unit's points. */

#include <inttypes.h>
#include <stdio.h>
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
#include "service/views.h"

/* The anomaly rule (docs/service.md "Recommendations"). A point is
 * compared with the median of up to HISTORY earlier normal points (the
 * first point of a unit, a full copy, is never one; nor is an anomaly), and
 * only once MIN_HISTORY of them exist. */
#define HISTORY 10
#define MIN_HISTORY 2
/* A jump in changed bytes: new data at least JUMP_FACTOR times the median,
 * and at least JUMP_FLOOR (small units change by small amounts). */
#define JUMP_FACTOR 8
#define JUMP_FLOOR (1ull << 20)
/* Encryption: of at least SHARE_MIN_NEW bytes of new data, a share of
 * SHARE_MIN or more did not compress, SHARE_RISE above the median share
 * (a unit of photos or archives never compresses, and is not flagged). */
#define SHARE_MIN_NEW (256ull << 10)
#define SHARE_MIN 0.5
#define SHARE_RISE 0.3
#define FASTEST 3

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2;
}

static double median_double(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double share(const struct catalog_rp *rp)
{
	return rp->new_bytes ? (double)rp->incompressible_bytes / (double)rp->new_bytes : 0;
}

static double mib(uint64_t b)
{
	return (double)b / 1048576.0;
}

/* Whether rps[i] is an anomaly against the normal points before it
 * (normal[k] set for k < i); the reason into *why (caller frees). */
static int anomaly(struct catalog_rp *const *rps, size_t i, const int *normal, char **why)
{
	uint64_t bytes[HISTORY];
	double shares[HISTORY];
	size_t nb = 0, ns = 0, k;
	const struct catalog_rp *rp = rps[i];
	uint64_t med;
	double msh;

	for (k = i; k-- > 0 && nb < HISTORY;) {
		if (!normal[k] || rps[k]->seq == 1)
			continue;
		bytes[nb++] = rps[k]->new_bytes;
		if (rps[k]->new_bytes > 0)
			shares[ns++] = share(rps[k]);
	}
	if (nb < MIN_HISTORY)
		return 0;
	med = median_u64(bytes, nb);
	msh = median_double(shares, ns);
	if (rp->new_bytes >= SHARE_MIN_NEW && share(rp) >= SHARE_MIN &&
	    share(rp) >= msh + SHARE_RISE) {
		*why = xasprintf("%.0f%% of its %.1f MiB of new data did not compress, against a "
				 "median of %.0f%% in the %zu points before it: what encryption by "
				 "ransomware looks like", share(rp) * 100, mib(rp->new_bytes),
				 msh * 100, nb);
		return 1;
	}
	if (rp->new_bytes >= JUMP_FLOOR && rp->new_bytes / JUMP_FACTOR >= med) {
		*why = xasprintf("its changed bytes jumped to %.1f MiB of new data, against a median "
				 "of %.1f MiB in the %zu points before it", mib(rp->new_bytes),
				 mib(med), nb);
		return 1;
	}
	return 0;
}

static struct json_object *point_json(const char *kind, const struct catalog_rp *rp)
{
	struct json_object *o = json_object_new_object();
	char when[32];

	json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "restorePoint", json_object_new_int64(rp->seq));
	time_format(rp->time_ns / 1000000000, when);
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "timeUnix", json_object_new_int64(rp->time_ns / 1000000000));
	return o;
}

static void add_changed(struct json_object *o, uint64_t items, uint64_t bytes)
{
	struct json_object *c = json_object_new_object();

	json_object_object_add(c, "items", json_object_new_int64((int64_t)items));
	json_object_object_add(c, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(o, "changedSince", c);
}

struct json_object *recommend_points(struct catalog_rp *const *rps, size_t n)
{
	struct json_object *out = json_object_new_object();
	struct json_object *recs = json_object_new_array(), *anoms = json_object_new_array();
	int *normal = xcalloc(n ? n : 1, sizeof(int));
	size_t i, last_anomaly = SIZE_MAX, run_start = SIZE_MAX;
	uint64_t items = 0, bytes = 0;
	char *why = NULL, *last_why = NULL;

	for (i = 0; i < n; i++) {
		normal[i] = !anomaly(rps, i, normal, &why);
		if (normal[i])
			continue;
		struct json_object *a = point_json("anomaly", rps[i]);

		json_object_object_add(a, "reason", json_object_new_string(why));
		json_object_array_add(anoms, a);
		/* The start of the latest run of consecutive anomalies. */
		if (last_anomaly == SIZE_MAX || last_anomaly + 1 != i)
			run_start = i;
		last_anomaly = i;
		if (run_start == i) {
			free(last_why);
			last_why = why;
		} else {
			free(why);
		}
		why = NULL;
	}
	/* The fastest: the newest points, since differences add up going back;
	 * the difference is the changes recorded by the points after each. */
	for (i = n; i-- > 0 && n - i <= FASTEST;) {
		struct json_object *o = point_json("fastest", rps[i]);
		char *reason;

		add_changed(o, items, bytes);
		if (i == n - 1)
			reason = xasprintf("the latest restore point: the least to rewrite");
		else
			reason = xasprintf("%" PRIu64 " entries and %.1f MiB of new data changed since: "
					   "the least to rewrite after the later points", items,
					   mib(bytes));
		json_object_object_add(o, "reason", json_object_new_string(reason));
		free(reason);
		if (run_start != SIZE_MAX && i >= run_start) {
			reason = xasprintf("taken at or after the anomaly at restore point %" PRIu32
					   ": it may hold the damage", rps[run_start]->seq);
			json_object_object_add(o, "warning", json_object_new_string(reason));
			free(reason);
		}
		json_object_array_add(recs, o);
		items += rps[i]->changed_entries;
		bytes += rps[i]->new_bytes;
	}
	if (run_start != SIZE_MAX && run_start > 0) {
		const struct catalog_rp *b = rps[run_start - 1];
		struct json_object *o = point_json("beforeAnomaly", b);
		char *reason = xasprintf("the last restore point before restore point %" PRIu32
					 ", where %s", rps[run_start]->seq, last_why);

		for (items = bytes = 0, i = run_start; i < n; i++) {
			items += rps[i]->changed_entries;
			bytes += rps[i]->new_bytes;
		}
		add_changed(o, items, bytes);
		json_object_object_add(o, "anomalyRestorePoint",
				       json_object_new_int64(rps[run_start]->seq));
		json_object_object_add(o, "reason", json_object_new_string(reason));
		free(reason);
		json_object_array_add(recs, o);
	}
	free(last_why);
	free(normal);
	json_object_object_add(out, "recommendations", recs);
	json_object_object_add(out, "anomalies", anoms);
	return out;
}

/* ---- svc_recommend() ---- */

int svc_recommend(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, struct json_object **out, struct error *err)
{
	struct catalog *c = svc_catalog(s);
	struct catalog_unit *u = NULL;
	struct catalog_rp **rps = NULL;
	size_t n = 0;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_unit_get(c, tenant, unit, &u, err) < 0)
		return -1;
	catalog_unit_free(&u);
	if (svc_live_points(s, tenant, unit, &rps, &n, err) < 0)
		return -1;
	*out = recommend_points(rps, n);
	json_object_object_add(*out, "unit", json_object_new_string(unit));
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	return 0;
}

