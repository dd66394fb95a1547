/* The workers: N threads that claim jobs from the catalog, run them by
 * kind and record how they ended (docs/service.md "Scheduler and jobs").
 * A job is never lost: one cut short by a stop stays "running" (or goes
 * back to "queued") and the next start requeues it with the reason.
 *
 * Several nodes (docs/service.md "Several nodes"): a job is claimed for
 * this node with a lease on the real clock, which a heartbeat thread
 * renews; a node that dies stops renewing and another node takes the job
 * over once the lease lapses. A renewal refused (the job was taken over
 * while this node was paused or cut off) marks the job lost: its backup
 * asks the lease once more right before writing its restore point
 * (svc_job_fence_check) and writes nothing, and its end is not recorded. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"

#define IDLE_POLL_MS 250
#define ERROR_POLL_MS 1000

/* A job this node runs, as the heartbeat sees it. */
struct running_job {
	int64_t id, fence;
	atomic_int lost; /* a renewal was refused: another node has it */
	struct running_job *next;
};

/* The job the calling worker thread runs (NULL outside jobs). */
static _Thread_local struct running_job *current_job;

struct svc_workers {
	struct service *s;
	pthread_t *threads;
	int n;
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* work may be there; or stop */
	pthread_cond_t ended; /* a job or a thread ended */
	int stop, running, alive;
	unsigned kicks; /* bumped by each kick: every idle worker sees it */
	struct running_job *jobs; /* under lock */
	pthread_t heartbeat;
	int heartbeat_started;
};

static int64_t lease_s(struct service *s) { return svc_cfg(s)->lease_s; }

static void mark_lost(struct service *s, struct running_job *rj, const char *why)
{
	if (!atomic_exchange(&rj->lost, 1))
		log_warn("event=job.lost job=%lld node=%s msg=\"%s\"", (long long)rj->id,
			 svc_node(s), why);
}

static int renew(struct service *s, int64_t id, int64_t fence, struct error *err)
{
	return catalog_job_heartbeat(svc_catalog(s), id, svc_node(s), fence,
				     (int64_t)time(NULL) + lease_s(s), err);
}

/* Renews the lease of the calling thread's job `rj`; a refusal marks it
 * lost. */
static int lease_renew(struct service *s, struct running_job *rj, struct error *err)
{
	if (atomic_load(&rj->lost))
		return error_setk(err, ERROR_CONFLICT, "job %lld is no longer ours: another node "
				  "took it over", (long long)rj->id);
	if (renew(s, rj->id, rj->fence, err) == 0)
		return 0;
	if (err->code == ERROR_CONFLICT)
		mark_lost(s, rj, err->msg);
	return -1;
}

int svc_job_fence_check(void *ctx, struct error *err)
{
	struct service *s = ctx;

	if (current_job == NULL)
		return 0;
	if (lease_renew(s, current_job, err) < 0)
		return error_prefix(err, "this node's lease on the job cannot be confirmed");
	return 0;
}

typedef int job_run_fn(struct service *s, const struct catalog_job *j, struct error *err);

static const struct {
	enum catalog_job_kind kind;
	job_run_fn *run;
} job_kinds[] = {
	{ CATALOG_JOB_BACKUP, svc_backup_job_run },
	{ CATALOG_JOB_EXPIRE, svc_expire_job_run },
	{ CATALOG_JOB_RESTORE, svc_restore_job_run },
	{ CATALOG_JOB_DESTROY, svc_destroy_job_run },
	{ CATALOG_JOB_DRILL, svc_drill_job_run },
};

int svc_job_queue(struct service *s, const char *tenant, const char *unit,
		  enum catalog_job_kind kind, int64_t now, int64_t *id_r, struct error *err)
{
	struct catalog_job j = { 0 };

	j.kind = svc_in(catalog_job_kind_name(kind));
	j.tenant = svc_in(tenant);
	j.unit = svc_in(unit);
	j.created = now;
	return catalog_job_enqueue(svc_catalog(s), &j, id_r, err);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The job changed its own state (a restore waiting for a free slot goes
 * back to the queue by itself): the worker leaves it alone. */
static int job_left_running(struct service *s, int64_t id)
{
	struct catalog_job *now = NULL;
	struct error err;
	int running = 1;

	error_init(&err);
	if (catalog_job_get(svc_catalog(s), id, &now, &err) == 0) {
		running = catalog_job_state_of(now->state) == CATALOG_JOB_RUNNING;
		catalog_job_free(&now);
	}
	return running;
}

void svc_job_execute(struct service *s, struct catalog_job *j)
{
	enum catalog_job_kind kind = catalog_job_kind_of(j->kind);
	enum catalog_job_state state;
	job_run_fn *run = NULL;
	struct error err, ferr;
	int64_t started = svc_now(s);
	double t0 = mono_now(), secs;
	int r;

	error_init(&err);
	error_init(&ferr);
	for (size_t i = 0; i < sizeof(job_kinds) / sizeof(job_kinds[0]); i++)
		if (job_kinds[i].kind == kind)
			run = job_kinds[i].run;
	log_info("event=job.start job=%lld kind=%s tenant=%s unit=%s attempt=%d",
		 (long long)j->id, j->kind, j->tenant, j->unit ? j->unit : "-", j->attempts);
	if (run == NULL)
		r = error_set(&err, "unknown job kind '%s'", j->kind);
	else
		r = run(s, j, &err);
	secs = mono_now() - t0;
	if (!job_left_running(s, j->id)) {
		log_info("event=job.yield job=%lld kind=%s", (long long)j->id, j->kind);
		return;
	}
	if (current_job && atomic_load(&current_job->lost)) {
		/* Another node has it now and records how it ends. */
		log_warn("event=job.end job=%lld kind=%s state=lost msg=\"taken over by another "
			 "node; nothing recorded\"", (long long)j->id, j->kind);
		return;
	}
	if (r < 0 && svc_stopping(s) && kind != CATALOG_JOB_BACKUP) {
		/* Cut short by the stop: back to the queue, with the reason. */
		if (catalog_job_finish(svc_catalog(s), j->id, svc_node(s), j->fence,
				       CATALOG_JOB_QUEUED, SVC_INTERRUPTED, NULL, 0, 0, &ferr) < 0)
			log_error("event=job.requeue job=%lld error=\"%s\"", (long long)j->id,
				  ferr.msg);
		return;
	}
	state = r == 0 ? CATALOG_JOB_SUCCEEDED : CATALOG_JOB_FAILED;
	if (kind == CATALOG_JOB_BACKUP)
		svc_unit_backup_done(s, j, started, r == 0 ? NULL : err.msg);
	if (catalog_job_finish(svc_catalog(s), j->id, svc_node(s), j->fence, state,
			       r == 0 ? NULL : err.msg, NULL, svc_now(s), 0, &ferr) < 0)
		log_error("event=job.finish job=%lld error=\"%s\"", (long long)j->id, ferr.msg);
	svc_stats_job(svc_stats(s), j->kind, j->tenant, j->unit, secs, r == 0);
	if (r == 0)
		log_info("event=job.end job=%lld kind=%s tenant=%s unit=%s state=%s seconds=%.3f",
			 (long long)j->id, j->kind, j->tenant, j->unit ? j->unit : "-",
			 catalog_job_state_name(state), secs);
	else
		log_warn("event=job.end job=%lld kind=%s tenant=%s unit=%s state=%s seconds=%.3f "
			 "error=\"%s\"", (long long)j->id, j->kind, j->tenant,
			 j->unit ? j->unit : "-", catalog_job_state_name(state), secs, err.msg);
}

static void wait_ms(struct svc_workers *w, int ms)
{
	struct timespec ts;
	unsigned seen = w->kicks;

	time_deadline_ms(&ts, ms);
	while (!w->stop && w->kicks == seen)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) == ETIMEDOUT)
			break;
}

/* svc_job_execute() with the job on the heartbeat's list. */
static void job_run_leased(struct svc_workers *w, struct catalog_job *j)
{
	struct running_job rj = { .id = j->id, .fence = j->fence };
	struct running_job **p;

	pthread_mutex_lock(&w->lock);
	rj.next = w->jobs;
	w->jobs = &rj;
	pthread_mutex_unlock(&w->lock);
	current_job = &rj;
	svc_job_execute(w->s, j);
	current_job = NULL;
	pthread_mutex_lock(&w->lock);
	for (p = &w->jobs; *p != &rj; p = &(*p)->next)
		;
	*p = rj.next;
	pthread_mutex_unlock(&w->lock);
}

/* The heartbeat's renewal of one job; the catalog is asked without the
 * lock, a refusal marks the job lost under it (if it still runs). */
static void heartbeat_one(struct svc_workers *w, int64_t id, int64_t fence)
{
	struct running_job *rj;
	struct error err;

	error_init(&err);
	if (renew(w->s, id, fence, &err) == 0)
		return;
	if (err.code != ERROR_CONFLICT) {
		/* The catalog is away: keep trying; if the lease lapses first,
		 * the fence keeps this node from writing. */
		log_warn("event=job.heartbeat job=%lld error=\"%s\"", (long long)id, err.msg);
		return;
	}
	pthread_mutex_lock(&w->lock);
	for (rj = w->jobs; rj; rj = rj->next)
		if (rj->id == id && rj->fence == fence)
			mark_lost(w->s, rj, err.msg);
	pthread_mutex_unlock(&w->lock);
}

/* Renews the leases of this node's running jobs three times a lease. The
 * catalog is asked outside the lock, from a copy of the list: a job ending
 * meanwhile is renewed once more, which its finish makes moot. */
static void *heartbeat_main(void *arg)
{
	struct svc_workers *w = arg;
	struct running_job *rj;
	struct timespec ts;
	int64_t *ids, *fences;
	size_t n, cap;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		time_deadline_ms(&ts, lease_s(w->s) * 1000 / 3);
		while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &ts) != ETIMEDOUT)
			;
		if (w->stop)
			break;
		for (cap = 0, rj = w->jobs; rj; rj = rj->next)
			cap++;
		ids = xcalloc(cap + 1, sizeof(*ids));
		fences = xcalloc(cap + 1, sizeof(*fences));
		for (n = 0, rj = w->jobs; rj; rj = rj->next, n++) {
			ids[n] = rj->id;
			fences[n] = rj->fence;
		}
		pthread_mutex_unlock(&w->lock);
		for (size_t i = 0; i < n; i++)
			heartbeat_one(w, ids[i], fences[i]);
		free(ids);
		free(fences);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct svc_workers *w = arg;
	struct catalog_job *j;
	struct error err;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		pthread_mutex_unlock(&w->lock);
		error_init(&err);
		j = NULL;
		if (catalog_job_claim_at(svc_catalog(w->s), svc_node(w->s), svc_now(w->s),
					 (int64_t)time(NULL), lease_s(w->s), &j, &err) < 0) {
			log_error("event=job.claim error=\"%s\"", err.msg);
			pthread_mutex_lock(&w->lock);
			wait_ms(w, ERROR_POLL_MS);
			continue;
		}
		pthread_mutex_lock(&w->lock);
		if (j == NULL) {
			wait_ms(w, IDLE_POLL_MS);
			continue;
		}
		if (w->stop) {
			/* Claimed as the stop came: hand it back untouched. */
			pthread_mutex_unlock(&w->lock);
			catalog_job_finish(svc_catalog(w->s), j->id, svc_node(w->s), j->fence,
					   CATALOG_JOB_QUEUED, SVC_INTERRUPTED, NULL, 0, 0, &err);
			catalog_job_free(&j);
			pthread_mutex_lock(&w->lock);
			break;
		}
		w->running++;
		pthread_mutex_unlock(&w->lock);
		job_run_leased(w, j);
		catalog_job_free(&j);
		pthread_mutex_lock(&w->lock);
		w->running--;
		pthread_cond_broadcast(&w->ended);
	}
	w->alive--;
	pthread_cond_broadcast(&w->ended);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct svc_workers *svc_workers_start(struct service *s, int n, struct error *err)
{
	struct svc_workers *w = xcalloc(1, sizeof(*w));
	int e;

	w->s = s;
	w->threads = xcalloc((size_t)n, sizeof(pthread_t));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_cond_init(&w->ended, NULL);
	e = pthread_create(&w->heartbeat, NULL, heartbeat_main, w);
	if (e != 0) {
		errno = e;
		error_sys(err, "cannot start the heartbeat thread");
		svc_workers_stop(&w, 30);
		return NULL;
	}
	w->heartbeat_started = 1;
	for (w->n = 0; w->n < n; w->n++) {
		pthread_mutex_lock(&w->lock);
		w->alive++;
		pthread_mutex_unlock(&w->lock);
		e = pthread_create(&w->threads[w->n], NULL, worker_main, w);
		if (e != 0) {
			pthread_mutex_lock(&w->lock);
			w->alive--;
			pthread_mutex_unlock(&w->lock);
			errno = e;
			error_sys(err, "cannot start worker thread %d", w->n + 1);
			svc_workers_stop(&w, 30);
			return NULL;
		}
	}
	return w;
}

void svc_workers_kick(struct svc_workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->kicks++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int svc_workers_stop(struct svc_workers **wp, int wait_s)
{
	struct svc_workers *w = *wp;
	struct timespec ts;
	int left;

	if (w == NULL)
		return 0;
	*wp = NULL;
	time_deadline_ms(&ts, (int64_t)wait_s * 1000);
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	while (w->alive > 0)
		if (pthread_cond_timedwait(&w->ended, &w->lock, &ts) == ETIMEDOUT)
			break;
	left = w->running;
	/* The heartbeat ends at the stop; jobs left running keep their lease
	 * until it lapses (or the next start of this node requeues them). */
	pthread_mutex_unlock(&w->lock);
	if (w->heartbeat_started)
		pthread_join(w->heartbeat, NULL);
	w->heartbeat_started = 0;
	pthread_mutex_lock(&w->lock);
	if (w->alive > 0) {
		pthread_mutex_unlock(&w->lock);
		for (int i = 0; i < w->n; i++)
			pthread_detach(w->threads[i]);
		return left > 0 ? left : 1;
	}
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	pthread_cond_destroy(&w->ended);
	free(w->threads);
	free(w);
	return 0;
}
