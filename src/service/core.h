#ifndef COFFER_SERVICE_CORE_H
#define COFFER_SERVICE_CORE_H

/* The service core's own seams (service.c, tenant.c, unit.c, policy.c,
 * input.c, secret.c, folder.c, descriptor.c, scheduler.c, worker.c,
 * backup_job.c, expire.c, rebuild.c, metrics.c): what those files share
 * beyond internal.h. Nothing outside src/service includes it. */

#include <stdint.h>

#include "catalog/catalog.h"

struct error;
struct json_object;
struct netpolicy;
struct service;
struct store_unit;
struct catalog_unit;
struct catalog_job;

/* Catalog records take char * fields even as inputs the catalog only
 * reads; this hands them a const string without a cast warning. */
static inline char *svc_in(const char *s)
{
	union {
		const char *c;
		char *m;
	} u = { .c = s };

	return u.m;
}

/* The reason a job left running by a stopped service carries. */
#define SVC_INTERRUPTED "interrupted: the service stopped while it ran"

/* The service key (DATA/keys/service.key or the setting service_key):
 * seals the secrets of sources in the catalog and derives the tenants'
 * store and deletion keys; every node of a service has the same. */
const uint8_t *svc_service_key(struct service *s);
struct svc_config;
char *svc_key_file_path(const struct svc_config *cfg);
int svc_key_file_read(const char *path, uint8_t key[32], struct error *err);
/* Creates the key file `path` (the service key's): 32 random
 * bytes as 64 hex digits and a newline, mode 0600, synced; one that exists
 * is refused, and on failure none is left. hex: the file's text,
 * NUL-terminated, for the caller to use and wipe. */
int svc_key_file_create(const char *path, char hex[66], struct error *err);

/* This node's name in job leases and health (setting node; default the
 * host name). */
const char *svc_node(struct service *s);

/* health.c: what /v1/health reports. */
struct svc_health_state;
struct svc_health_state *svc_health_state_new(void);
void svc_health_state_free(struct svc_health_state **h);
struct svc_health_state *svc_health_states(struct service *s);
/* How opening a store in `location` just went: err NULL if it worked. */
void svc_location_note(struct service *s, const char *location, const struct error *err);

/* DATA/cache: index caches of the tenants' stores. */
const char *svc_cache_dir(struct service *s);

/* ---- tenant_store.c: locations and tenants' stores ---- */
struct catalog_tenant;
/* One "location.NAME[.object_lock]" setting; keep() makes strings live as
 * long as the config. */
int svc_config_location(struct svc_config *cfg, const char *key, const char *value,
			const char *(*keep)(const char *), struct error *err);
/* Every location has a spec, object_lock only on S3, default_location
 * exists. */
int svc_config_check_locations(const struct svc_config *cfg, struct error *err);
/* The name of the tenant's location ("local" for tenants made before
 * locations, whose row holds their folder). */
const char *svc_tenant_location_name(const struct catalog_tenant *t);
/* The tenant's store spec (caller frees); ERROR_USAGE if this node's
 * config lacks its location. */
char *svc_tenant_store_spec(struct service *s, const struct catalog_tenant *t, struct error *err);
/* The store's folder if it is one, else NULL (caller frees). */
char *svc_tenant_store_folder(struct service *s, const struct catalog_tenant *t);
/* Creates the tenant's store in `location` with its derived key. */
int svc_tenant_store_create(struct service *s, const char *tenant, const char *location,
			    struct error *err);
/* Removes what svc_tenant_store_create() made, where it can (a folder). */
void svc_tenant_store_undo(struct service *s, const char *tenant, const char *location);

/* Where sources may connect (settings source_allow, source_deny), built
 * at svc_open(); every backup and restore of a network source passes it
 * (source_backup_opts.netpolicy), and unit creation checks with it. */
const struct netpolicy *svc_netpolicy(struct service *s);

/* Serializes read-modify-write of unit and policy rows between the
 * scheduler, the workers and API calls (all in this process). */
void svc_lock(struct service *s);
void svc_unlock(struct service *s);

/* Wakes idle workers (a job was queued) or the scheduler (a policy
 * changed) before their next poll. */
void svc_kick_workers(struct service *s);
void svc_kick_scheduler(struct service *s);

/* scheduler.c: one evaluation of every policy (the scheduler thread calls
 * it each tick; tests may call it directly). */
int svc_scheduler_evaluate(struct service *s, struct error *err);
struct svc_scheduler;
struct svc_scheduler *svc_scheduler_start(struct service *s, struct error *err);
void svc_scheduler_stop(struct svc_scheduler **sch);
void svc_scheduler_kick(struct svc_scheduler *sch);

/* worker.c: N threads claiming jobs. stop: no new claims; waits up to
 * wait_s for running jobs; returns the number still running (they are left
 * "running" in the catalog for the next start to requeue), and then the
 * pool is deliberately not freed. */
struct svc_workers;
struct svc_workers *svc_workers_start(struct service *s, int n, struct error *err);
int svc_workers_stop(struct svc_workers **w, int wait_s);
void svc_workers_kick(struct svc_workers *w);
/* Queues a backup or expire job of the unit at `now`, unless one is queued
 * or running (*id_r is then that one's); the caller kicks the workers. */
int svc_job_queue(struct service *s, const char *tenant, const char *unit,
		  enum catalog_job_kind kind, int64_t now, int64_t *id_r, struct error *err);
struct svc_principal;
struct json_object;
/* What "run it now" does for a unit (backup, drill): queues the job,
 * audits `action` by p, kicks the workers, and gives the job's view. */
int svc_job_start(struct service *s, const struct svc_principal *p,
		  const struct catalog_unit *u, enum catalog_job_kind kind, const char *action,
		  struct json_object **out, struct error *err);
/* Runs one job by kind and records its end; the workers' body. */
void svc_job_execute(struct service *s, struct catalog_job *j);
/* The fence a job's restore point passes (engine/point_writer.h; ctx: the
 * service): renews the running job's lease, -1 with ERROR_CONFLICT if
 * another node took the job over. 0 outside a worker's job. */
int svc_job_fence_check(void *ctx, struct error *err);

/* backup_job.c: a unit's bookkeeping after a backup attempt at `started`
 * (failures, last_error, next_due with back-off, state). */
void svc_unit_backup_done(struct service *s, const struct catalog_job *j, int64_t started,
			  const char *error);
/* Back-off after `failures` consecutive failures: 1, 2, 4 ... minutes,
 * capped at the frequency. */
int64_t svc_backoff_s(int failures, int64_t frequency_s);
/* Mirrors point `seq` of an opened unit into the catalog; changed: items
 * changed since the parent (-1: unknown, keep what the row had;
 * SVC_CHANGED_ALL: every entry, as for a first point). */
#define SVC_CHANGED_ALL (-2)
int svc_rp_record_unit(struct service *s, struct store_unit *su, const char *tenant,
		       uint32_t seq, int64_t changed, struct error *err);

/* input.c: checks of the JSON objects that create or change tenants,
 * units and policies. Each returns 0, or -1 with an ERROR_USAGE error that
 * names the field. */
/* A string field: *v_r is NULL when an optional one is missing. */
int svc_want_str(struct json_object *in, const char *key, int required, const char **v_r,
		 struct error *err);
/* An optional whole number from min to max: *v_r is left alone when it is
 * missing. */
int svc_want_int(struct json_object *in, const char *key, int64_t min, int64_t max,
		 int64_t *v_r, struct error *err);
/* Names people give (what: "tenant", "unit", "policy"): 1 to 200
 * printable characters, no '/', not "." or "..". */
int svc_check_name(const char *what, const char *name, struct error *err);
/* A unit's or policy's kind: mailbox, account or site. */
int svc_check_kind(const char *kind, struct error *err);
/* Refuses anything but a JSON object, and a key of it that is not in the
 * NULL-ended `allowed`; what: the object, for the error ("a unit"). */
int svc_check_object(struct json_object *in, const char *const *allowed, const char *what,
		     struct error *err);
/* A new random id, `prefix` and 16 hex digits; the caller frees. */
char *svc_new_id(const char *prefix);
/* Days a tenant's or policy's retention may reach. */
#define SVC_MAX_DAYS (100 * 366)

/* secret.c: sources with their secrets. */
/* The longest secret a source may have. */
#define SVC_SECRET_MAX_LEN 4096
/* Replaces the "secret" of `src`, if any, by "secretSealed": AES-256-GCM
 * under the service key, bound to tenant and unit name. */
void svc_secret_seal(struct service *s, const char *tenant, const char *unit_name,
		     struct json_object *src);
/* The unit's source JSON as a job needs it, "secret" decrypted; the caller
 * puts it. Never log it. */
struct json_object *svc_unit_source_open(struct service *s, const struct catalog_unit *u,
					 struct error *err);
/* A "webdav" rule's "secret", if any, -> "secretSealed", bound to tenant
 * and the rule's url. */
void svc_rule_secret_seal(struct service *s, const char *tenant, struct json_object *rule);
/* A copy of a policy's rule with its secret opened, for the scheduler to
 * connect with; the caller puts it. Never log it. */
struct json_object *svc_rule_open(struct service *s, const char *tenant,
				  const struct json_object *rule, struct error *err);

/* folder.c: where a tenant's folders may be. */
/* Whether one place may be a tenant's folder (a unit, or a subfolders
 * rule), checked on the path as given and, if it exists, with its
 * symbolic links resolved:
 *  - never the data folder, inside it, or above it (it holds every
 *    tenant's keys and stores);
 *  - with folder_root set, inside FOLDER_ROOT/<tenant name>; a unit
 *    strictly inside, so its "<path>.restored-N" sibling is too.
 * This is what keeps one tenant's admin from backing up, or restoring over,
 * another tenant's folders or the service's own. what: the field, for the
 * error. */
int svc_check_folder_place(struct service *s, const char *tenant, const char *what,
			   const char *path, int unit, struct error *err);
/* The folder a tenant's folder units are confined to: FOLDER_ROOT/<tenant
 * name> as configured (links above it are the operator's), or NULL without
 * folder_root. Jobs pass it to folder sources (source_*_opts.beneath), so
 * nothing below it is opened through a symbolic link. 0, or -1 if the
 * tenant cannot be read; the caller frees *beneath_r. */
int svc_folder_beneath(struct service *s, const char *tenant, char **beneath_r,
		       struct error *err);

/* descriptor.c: writes the rebuild descriptors (docs/service.md
 * "Rebuild"). */
int svc_tenant_describe(struct service *s, const char *tenant, const char *name,
			const char *location, struct error *err);
int svc_unit_describe(struct service *s, const struct catalog_unit *u, struct error *err);
/* Folder of the descriptors: DATA/tenants/<id>; caller frees. */
char *svc_tenant_meta_dir(struct service *s, const char *tenant);

/* unit.c: creates a unit (validated) without a principal: the scheduler's
 * inclusion rules. */
int svc_unit_create_internal(struct service *s, const char *tenant, const char *kind,
			     const char *name, struct json_object *source,
			     struct catalog_unit **u_r, struct error *err);

/* metrics.c: counters kept in memory since start. */
struct svc_stats;
struct svc_stats *svc_stats_new(void);
void svc_stats_free(struct svc_stats **st);
struct svc_stats *svc_stats(struct service *s);
void svc_stats_job(struct svc_stats *st, const char *kind, const char *tenant,
		   const char *unit, double seconds, int ok);

#endif
