#ifndef COFFER_SERVICE_INTERNAL_H
#define COFFER_SERVICE_INTERNAL_H

/* What the parts of the service share and nothing outside it sees. */

#include <stddef.h>
#include <stdint.h>

struct catalog;
struct error;
struct json_object;
struct service;
struct store;
struct catalog_job;
struct catalog_rp;
struct catalog_unit;

/* The service's catalog (catalog/catalog.h). Only the service reaches
 * it: the server and the CLI call service.h, whose functions authorize
 * the caller first. */
struct catalog *svc_catalog(struct service *s);

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
/* A restore drill of the job's unit (service/drill.c). */
int svc_drill_job_run(struct service *s, const struct catalog_job *j, struct error *err);
/* A unit's destruction, due and held by nothing (service/destroy.c). */
int svc_destroy_job_run(struct service *s, const struct catalog_job *j, struct error *err);
/* The scheduler's part: queues a destroy job for each unit whose
 * destruction is due and held by no legal hold. */
void svc_destroy_tick(struct service *s, int64_t now);

/* The unit's thinning settings in days: its policy's, or the defaults (14
 * days of every point, weekly ones for 365 days or the tenant's minimum).
 * A new restore point's keepUntil and retainUntil are its time plus these;
 * they never change after. */
void svc_unit_retention(struct service *s, const struct catalog_unit *u, int64_t *recent_r,
			int64_t *retention_r);
/* Writes each record of the unit's deletion log in store `st` (any store
 * handle of the tenant) that the catalog has not seen into the tenant's
 * audit log ("store.deletion", actor "system", with the record), marks the
 * points it forgot as forgotten, and remembers the record. Failures are
 * logged: the next call retries. */
void svc_deletions_import(struct service *s, const char *tenant, const char *unit,
			  struct store *st);
/* 0 when seq is a live (not forgotten) restore point of unit, else
 * ERROR_NOTFOUND naming it ("unit U has no restore point N"). */
int svc_live_point(struct service *s, const char *tenant, const char *unit, uint32_t seq,
		   struct error *err);
/* Every live (not forgotten) restore point row of a unit, ascending by
 * seq, in one array (CATALOG_LIST_FREE). */
int svc_live_points(struct service *s, const char *tenant, const char *unit,
		    struct catalog_rp ***rps_r, size_t *n_r, struct error *err);
/* The tenant's mail search index (service/search.c), first brought up to
 * date for every mailbox unit when catch_up (points left out are logged),
 * as before a search. The caller closes it (mailindex_close). */
struct mailindex;
struct mailindex *svc_mail_index(struct service *s, const char *tenant, int catch_up,
				 struct error *err);
/* A search's filters (svc_mail_search's, as a body) as an index query
 * whose strings point into `filters` (service/search.c). */
struct mailindex_query;
int svc_mail_query(struct json_object *filters, struct mailindex_query *q, struct error *err);

/* ---- erasures (service/erasure.c, docs/privacy.md 2) ---- */
/* What a read withheld, as the API shows it: {"items": N, "byRequest":
 * [{"request", "items"}]}, from a count and erasure_set_report_text()'s
 * JSON (by may be NULL), or from a set; svc_withheld_json() is its text,
 * NULL when n is 0 (for the catalog). */
struct erasure_set;
struct json_object *svc_withheld_text(uint64_t n, const char *by);
struct json_object *svc_withheld_obj(const struct erasure_set *es);
char *svc_withheld_json(uint64_t n, const char *by);
/* Carries out the approved erasure requests of `tenant` (NULL: every
 * tenant) that no legal hold holds back any more: after a hold's release,
 * and from the scheduler. Failures are logged; the next call retries. */
void svc_erasures_resume(struct service *s, const char *tenant);
/* The scheduler's part: svc_erasures_resume() for every tenant, at most
 * every ten seconds. */
void svc_erasures_tick(struct service *s);
/* Catalog rebuild: the requests whose records the unit's ledger holds, as
 * effective requests (kind "paths" or "messages"; who asked and why are in
 * the audit log, not the store). */
struct store_unit;
int svc_erasures_rebuild(struct service *s, const char *tenant, struct store_unit *su,
			 struct error *err);

/* Mirrors one restore point of the store into the catalog. */
int svc_rp_record(struct service *s, const char *tenant, const char *unit, uint32_t seq,
		  struct error *err);

/* Destroys unit `unit_id` of `tenant` now, without the destroy delay
 * (service/destroy.c, docs/privacy.md 5): evicts its caches (cache
 * folder, search index rows), erases its key in the store and deletes its
 * objects as locks allow, marks it destroyed in the catalog and audits
 * "unit.destroy.done". For tenant offboarding; the caller has checked
 * permissions and legal holds. *record (may be NULL) gets a new JSON
 * object the caller puts: {"unit","uid","name","restorePoints","objects",
 * "bytes","objectsLocked","lockedUntil","keyDestroyed","method":
 * "cryptographic erase"}. 0; -1 with err (ERROR_LOCKED when the key object
 * is still under S3 Object Lock: the record then says until when). */
int svc_unit_destroy_now(struct service *s, const char *tenant, const char *unit_id,
			 struct json_object **record, struct error *err);

/* ---- restore drills (service/drill.c, docs/service.md "Restore drills") ---- */
struct catalog_policy;
/* Checks a policy's "drill" (an object, or null for none) for a policy of
 * `kind`; *stored_r is what the catalog keeps (NULL: no drills), caller
 * frees. ERROR_USAGE naming the field. */
int svc_drill_settings_check(struct service *s, struct json_object *in, const char *kind,
			     char **stored_r, struct error *err);
/* The API's view of stored settings (with "slices"); NULL for NULL. */
struct json_object *svc_drill_settings_view(const char *json, const char *kind);
/* Queues a drill of u when its policy has drills and the last one is
 * `every` old (the scheduler's tick). */
void svc_drill_tick(struct service *s, const struct catalog_policy *p,
		    const struct catalog_unit *u, int64_t now);
/* Adds "lastDrill" (or null) to a unit's view, or to each of an array of
 * them (one catalog query for all). */
void svc_drill_annotate(struct service *s, const char *tenant, struct json_object *units);

#endif
