/* /metrics in the Prometheus text format (docs/service.md "Metrics"):
 * counters of restore points taken and failed since the start, the last
 * success of each unit and the bytes of each tenant's store (from the
 * catalog and the data folder), job durations as a histogram by kind, and
 * the queue depth. Each series is shown only to whom svc_authorize() lets
 * read it (SVC_PERM_METRICS_READ of its tenant, or of none for the
 * service-wide ones). */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"

static const double buckets[] = { 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct unit_count {
	char *tenant, *unit;
	uint64_t ok, failed;
};

struct kind_hist {
	char *kind;
	uint64_t counts[NBUCKETS]; /* cumulative, as Prometheus wants */
	uint64_t count;
	double sum;
};

struct svc_stats {
	pthread_mutex_t lock;
	struct unit_count *units;
	size_t nunits;
	struct kind_hist *kinds;
	size_t nkinds;
};

struct svc_stats *svc_stats_new(void)
{
	struct svc_stats *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->lock, NULL);
	return st;
}

void svc_stats_free(struct svc_stats **stp)
{
	struct svc_stats *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	for (size_t i = 0; i < st->nunits; i++) {
		free(st->units[i].tenant);
		free(st->units[i].unit);
	}
	for (size_t i = 0; i < st->nkinds; i++)
		free(st->kinds[i].kind);
	free(st->units);
	free(st->kinds);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static struct unit_count *unit_count(struct svc_stats *st, const char *tenant, const char *unit)
{
	for (size_t i = 0; i < st->nunits; i++)
		if (strcmp(st->units[i].unit, unit) == 0 && strcmp(st->units[i].tenant, tenant) == 0)
			return &st->units[i];
	st->units = xrealloc(st->units, xmul(st->nunits + 1, sizeof(*st->units)));
	st->units[st->nunits] = (struct unit_count){ xstrdup(tenant), xstrdup(unit), 0, 0 };
	return &st->units[st->nunits++];
}

void svc_stats_job(struct svc_stats *st, const char *kind, const char *tenant,
		   const char *unit, double seconds, int ok)
{
	struct kind_hist *h = NULL;

	pthread_mutex_lock(&st->lock);
	if (catalog_job_kind_of(kind) == CATALOG_JOB_BACKUP && tenant && unit) {
		struct unit_count *c = unit_count(st, tenant, unit);

		if (ok)
			c->ok++;
		else
			c->failed++;
	}
	for (size_t i = 0; i < st->nkinds; i++)
		if (strcmp(st->kinds[i].kind, kind) == 0)
			h = &st->kinds[i];
	if (h == NULL) {
		st->kinds = xrealloc(st->kinds, xmul(st->nkinds + 1, sizeof(*st->kinds)));
		h = &st->kinds[st->nkinds++];
		memset(h, 0, sizeof(*h));
		h->kind = xstrdup(kind);
	}
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b])
			h->counts[b]++;
	h->count++;
	h->sum += seconds;
	pthread_mutex_unlock(&st->lock);
}

/* Bytes of the files under dir (the tenant's store on disk). */
static uint64_t tree_bytes(const char *dir, int depth)
{
	struct dirent *de;
	struct stat st;
	uint64_t total = 0;
	DIR *d;
	int fd;

	if (depth > 16)
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			char *sub = xasprintf("%s/%s", dir, de->d_name);

			total += tree_bytes(sub, depth + 1);
			free(sub);
		} else if (S_ISREG(st.st_mode)) {
			total += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return total;
}

/* Label values: backslash, quote and newline escaped. */
static void label(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_addf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_addf(b, "\\n");
		else
			buf_add(b, v, 1);
	}
}

static void unit_lines(struct service *s, struct buf *b, const struct catalog_tenant *t,
		       struct buf *last)
{
	struct catalog_page pg = { .limit = 1000 };
	struct svc_stats *st = svc_stats(s);
	struct catalog_unit **us = NULL;
	struct error err;
	char *after = NULL;
	size_t n;

	for (;;) {
		error_init(&err);
		pg.after = after;
		if (catalog_unit_list(svc_catalog(s), t->id, NULL, &pg, &us, &n, &err) < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			struct unit_count c = { 0 };

			pthread_mutex_lock(&st->lock);
			for (size_t k = 0; k < st->nunits; k++)
				if (strcmp(st->units[k].unit, us[i]->id) == 0)
					c = st->units[k];
			pthread_mutex_unlock(&st->lock);
			for (int ok = 1; ok >= 0; ok--) {
				buf_addf(b, "coffer_restore_points_total{tenant=\"");
				label(b, t->id);
				buf_addf(b, "\",unit=\"");
				label(b, us[i]->id);
				buf_addf(b, "\",result=\"%s\"} %llu\n", ok ? "ok" : "failed",
					 (unsigned long long)(ok ? c.ok : c.failed));
			}
			if (us[i]->last_success > 0) {
				buf_addf(last, "coffer_last_success_timestamp_seconds{tenant=\"");
				label(last, t->id);
				buf_addf(last, "\",unit=\"");
				label(last, us[i]->id);
				buf_addf(last, "\"} %lld\n", (long long)us[i]->last_success);
			}
		}
		free(after);
		after = n ? xstrdup(us[n - 1]->id) : NULL;
		CATALOG_LIST_FREE(us, n, catalog_unit_free);
		if (n < 1000)
			break;
	}
	free(after);
}

/* One drill series of a unit: NAME{tenant,unit} VALUE. */
static void drill_line(struct buf *b, const char *name, const char *tenant, const char *unit,
		       long long v)
{
	buf_addf(b, "%s{tenant=\"", name);
	label(b, tenant);
	buf_addf(b, "\",unit=\"");
	label(b, unit);
	buf_addf(b, "\"} %lld\n", v);
}

/* The units' restore drills (docs/service.md "Restore drills"), from the
 * catalog: the counters count every drill ever recorded, so they survive
 * a restart. */
static void drill_lines(struct service *s, struct buf *b, const struct catalog_tenant *t)
{
	struct catalog_drill **ds = NULL;
	struct error err;
	size_t n = 0;

	error_init(&err);
	if (catalog_drill_latest(svc_catalog(s), t->id, NULL, &ds, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct catalog_drill *d = ds[i];

		drill_line(b, "coffer_drill_last_timestamp_seconds", t->id, d->unit, d->finished);
		drill_line(b, "coffer_drill_last_passed", t->id, d->unit,
			   strcmp(d->state, "passed") == 0);
		drill_line(b, "coffer_drill_last_problems", t->id, d->unit, d->problems);
		drill_line(b, "coffer_drills_total", t->id, d->unit, d->total);
		drill_line(b, "coffer_drill_failures_total", t->id, d->unit, d->failed_total);
		drill_line(b, "coffer_drill_packs_verified_total", t->id, d->unit, d->packs_total);
		drill_line(b, "coffer_drill_bytes_verified_total", t->id, d->unit, d->bytes_total);
	}
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
}

/* May p read the series of tenant (NULL: the service-wide ones)? */
static int may_read(const struct svc_principal *p, const char *tenant)
{
	struct error err;

	error_init(&err);
	return p == NULL || svc_authorize(p, tenant, SVC_PERM_METRICS_READ, &err) == 0;
}

char *svc_metrics(struct service *s, const struct svc_principal *p)
{
	struct catalog_page pg = { .limit = 1000 };
	struct svc_stats *st = svc_stats(s);
	struct catalog_tenant **ts = NULL;
	struct buf b, last, bytes, drills;
	struct error err;
	char *after = NULL, *dir;
	size_t n;

	buf_init(&b, 0);
	buf_init(&last, 0);
	buf_init(&bytes, 0);
	buf_init(&drills, 0);
	buf_addf(&drills, "# HELP coffer_drill_last_timestamp_seconds When the unit's last restore "
			  "drill ended (service clock).\n"
			  "# TYPE coffer_drill_last_timestamp_seconds gauge\n"
			  "# HELP coffer_drill_last_passed 1 if the unit's last restore drill passed, "
			  "0 if it failed.\n"
			  "# TYPE coffer_drill_last_passed gauge\n"
			  "# HELP coffer_drill_last_problems Problems the unit's last restore drill "
			  "found.\n"
			  "# TYPE coffer_drill_last_problems gauge\n"
			  "# HELP coffer_drills_total Restore drills of the unit (from the catalog).\n"
			  "# TYPE coffer_drills_total counter\n"
			  "# HELP coffer_drill_failures_total Failed restore drills of the unit.\n"
			  "# TYPE coffer_drill_failures_total counter\n"
			  "# HELP coffer_drill_packs_verified_total Packs the unit's drills read and "
			  "verified.\n"
			  "# TYPE coffer_drill_packs_verified_total counter\n"
			  "# HELP coffer_drill_bytes_verified_total Bytes of the packs the unit's "
			  "drills read and verified.\n"
			  "# TYPE coffer_drill_bytes_verified_total counter\n");
	buf_addf(&b, "# HELP coffer_restore_points_total Backup jobs that took a restore point "
		     "(ok) or failed, since the service started.\n"
		     "# TYPE coffer_restore_points_total counter\n");
	buf_addf(&last, "# HELP coffer_last_success_timestamp_seconds When the unit's last "
			"restore point was taken (service clock).\n"
			"# TYPE coffer_last_success_timestamp_seconds gauge\n");
	buf_addf(&bytes, "# HELP coffer_store_bytes Bytes of the tenant's store on disk.\n"
			 "# TYPE coffer_store_bytes gauge\n");
	for (;;) {
		error_init(&err);
		pg.after = after;
		if (catalog_tenant_list(svc_catalog(s), &pg, &ts, &n, &err) < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (!may_read(p, ts[i]->id))
				continue;
			unit_lines(s, &b, ts[i], &last);
			drill_lines(s, &drills, ts[i]);
			/* Folders only: sizing a bucket costs a listing. */
			if ((dir = svc_tenant_store_folder(s, ts[i])) == NULL)
				continue;
			buf_addf(&bytes, "coffer_store_bytes{tenant=\"");
			label(&bytes, ts[i]->id);
			buf_addf(&bytes, "\"} %llu\n", (unsigned long long)tree_bytes(dir, 0));
			free(dir);
		}
		free(after);
		after = n ? xstrdup(ts[n - 1]->id) : NULL;
		CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
		if (n < 1000)
			break;
	}
	free(after);
	buf_add(&b, last.data, last.len);
	buf_add(&b, bytes.data, bytes.len);
	buf_add(&b, drills.data, drills.len);
	buf_clear(&last);
	buf_clear(&bytes);
	buf_clear(&drills);
	if (!may_read(p, NULL))
		return (char *)buf_steal(&b, &n);
	buf_addf(&b, "# HELP coffer_job_duration_seconds How long jobs ran, by kind.\n"
		     "# TYPE coffer_job_duration_seconds histogram\n");
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->nkinds; i++) {
		const struct kind_hist *h = &st->kinds[i];

		for (size_t k = 0; k < NBUCKETS; k++)
			buf_addf(&b, "coffer_job_duration_seconds_bucket{kind=\"%s\",le=\"%g\"} %llu\n",
				 h->kind, buckets[k], (unsigned long long)h->counts[k]);
		buf_addf(&b, "coffer_job_duration_seconds_bucket{kind=\"%s\",le=\"+Inf\"} %llu\n",
			 h->kind, (unsigned long long)h->count);
		buf_addf(&b, "coffer_job_duration_seconds_sum{kind=\"%s\"} %.6f\n", h->kind, h->sum);
		buf_addf(&b, "coffer_job_duration_seconds_count{kind=\"%s\"} %llu\n", h->kind,
			 (unsigned long long)h->count);
	}
	pthread_mutex_unlock(&st->lock);
	buf_addf(&b, "# HELP coffer_queue_depth Jobs queued and not yet running.\n"
		     "# TYPE coffer_queue_depth gauge\ncoffer_queue_depth %lld\n",
		 (long long)catalog_job_queue_depth(svc_catalog(s)));
	return (char *)buf_steal(&b, &n);
}
