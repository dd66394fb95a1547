#ifndef COFFER_SERVICE_INTERNAL_H
#define COFFER_SERVICE_INTERNAL_H

/* What the parts of the service share and nothing outside it sees. */

#include <stdint.h>

struct error;
struct json_object;
struct service;
struct store;
struct catalog_job;
struct catalog_unit;

/* The tenant's store, opened with its key file (flags as store_open:
 * BACKEND_ALLOW_DELETE only for expiry). The caller destroys it. */
struct store *svc_tenant_store(struct service *s, const char *tenant, int flags,
			       struct error *err);
/* Non-zero once svc_stop() was called: long jobs stop at a safe point. */
int svc_stopping(struct service *s);

/* Jobs, by kind; each runs on a worker thread and returns -1 with the
 * reason the job failed. (worker.c calls them.) */
int svc_backup_job_run(struct service *s, const struct catalog_job *j, struct error *err);
int svc_expire_job_run(struct service *s, const struct catalog_job *j, struct error *err);
int svc_restore_job_run(struct service *s, const struct catalog_job *j, struct error *err);

/* Mirrors one restore point of the store into the catalog. */
int svc_rp_record(struct service *s, const char *tenant, const char *unit, uint32_t seq,
		  struct error *err);

#endif
