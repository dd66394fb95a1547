#ifndef COFFER_CATALOG_H
#define COFFER_CATALOG_H

/* The catalog: the service's database (docs/service.md, section "Catalog").
 * Tenants, protection units, protection policies, restore points, restore
 * sessions and their artifacts, jobs, API tokens and the audit log.
 *
 * One interface for every database: callers never see SQL. catalog.c
 * holds every query once, over the statement layer of db.h and its
 * drivers (db_sqlite.c, the default). Every function is thread-safe (one
 * connection per struct catalog, serialized by a mutex).
 *
 * Ids are text made by the catalog ("t-", "u-", "p-", "s-" + 16 hex
 * digits); jobs and audit entries are numbered. Times are Unix seconds
 * (restore points: nanoseconds, as in the store). Strings in records are
 * owned by the record; each *_free() frees one record, *_list_free() an
 * array. Lists take a `struct catalog_page` and return at most its limit
 * after its cursor, in a stable order. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct catalog;

/* Opens (creating if absent) and migrates to the latest schema version.
 * url: a path to an SQLite file ("sqlite:PATH" or just PATH), or a libpq
 * connection URI ("postgresql://..." or "postgres://...": PostgreSQL, the
 * database must exist); another scheme is ERROR_USAGE naming it. A failed
 * connection names the host and database (never the password) with
 * libpq's message. A catalog written by a newer coffer (higher schema
 * version) is refused with ERROR_VERSION, naming it and both versions.
 *
 * Errors of every function below: ERROR_NOTFOUND (no such record, or one of
 * another tenant), ERROR_EXISTS (a unique name or id is taken), ERROR_USAGE
 * (a malformed argument: a bad page cursor, an unknown state),
 * ERROR_CONFLICT (a job taken over by another node), ERROR_FAIL (the
 * database failed, or its connection was lost: the message carries the
 * database's; the next call reconnects). */
struct catalog *catalog_open(const char *url, struct error *err);
void catalog_close(struct catalog **c);
int catalog_schema_version(struct catalog *c);

struct catalog_page {
	const char *after; /* cursor: the last id (or number) of the previous page; NULL: start */
	int limit;         /* 1..1000; 0 (or < 0) means 100; above 1000 is clamped to 1000 */
};

/* ---- the states and kinds records hold ----
 * Records keep them as the strings of one table each (catalog_names.c):
 * the catalog's columns and the API show those strings; code compares the
 * enums. X_name() gives a value's string (NULL for 0 or a value out of
 * range); X_of() a string's value (0 for NULL or a string not in the
 * table, so an unknown state never equals a known one). */
enum catalog_tenant_state { CATALOG_TENANT_ACTIVE = 1, CATALOG_TENANT_OFFBOARDING };
const char *catalog_tenant_state_name(enum catalog_tenant_state v);
enum catalog_tenant_state catalog_tenant_state_of(const char *name);
/* The kind of a unit, and of the units a policy protects. */
enum catalog_kind { CATALOG_KIND_MAILBOX = 1, CATALOG_KIND_ACCOUNT, CATALOG_KIND_SITE };
const char *catalog_kind_name(enum catalog_kind v);
enum catalog_kind catalog_kind_of(const char *name);
enum catalog_unit_state {
	CATALOG_UNIT_UNPROTECTED = 1,
	CATALOG_UNIT_ACTIVATING,
	CATALOG_UNIT_PROTECTED,
	CATALOG_UNIT_REMOVED,
	CATALOG_UNIT_DESTROYED, /* its key erased (docs/privacy.md 5): never backed up again */
};
const char *catalog_unit_state_name(enum catalog_unit_state v);
enum catalog_unit_state catalog_unit_state_of(const char *name);
enum catalog_policy_state {
	CATALOG_POLICY_INACTIVE = 1,
	CATALOG_POLICY_ACTIVATING,
	CATALOG_POLICY_ACTIVE,
};
const char *catalog_policy_state_name(enum catalog_policy_state v);
enum catalog_policy_state catalog_policy_state_of(const char *name);
enum catalog_job_kind {
	CATALOG_JOB_BACKUP = 1,
	CATALOG_JOB_EXPIRE,
	CATALOG_JOB_RESTORE,
	CATALOG_JOB_DESTROY, /* a unit's destruction (docs/privacy.md 5) */
	CATALOG_JOB_DRILL,   /* a restore drill (docs/service.md "Restore drills") */
};
const char *catalog_job_kind_name(enum catalog_job_kind v);
enum catalog_job_kind catalog_job_kind_of(const char *name);
enum catalog_job_state {
	CATALOG_JOB_QUEUED = 1,
	CATALOG_JOB_RUNNING,
	CATALOG_JOB_SUCCEEDED,
	CATALOG_JOB_FAILED,
};
const char *catalog_job_state_name(enum catalog_job_state v);
enum catalog_job_state catalog_job_state_of(const char *name);
/* The state of a restore session, and of each of its artifacts. */
enum catalog_session_state {
	CATALOG_SESSION_PENDING = 1,
	CATALOG_SESSION_RUNNING,
	CATALOG_SESSION_SUCCEEDED,
	CATALOG_SESSION_FAILED,
};
const char *catalog_session_state_name(enum catalog_session_state v);
enum catalog_session_state catalog_session_state_of(const char *name);
/* How an artifact restores its unit (the API names them otherwise:
 * service/views.h). */
enum catalog_restore_mode {
	CATALOG_MODE_IN_PLACE = 1,
	CATALOG_MODE_NEW_LOCATION,
	CATALOG_MODE_GRANULAR,
};
const char *catalog_restore_mode_name(enum catalog_restore_mode v);
enum catalog_restore_mode catalog_restore_mode_of(const char *name);

/* ---- tenants ---- */
#define CATALOG_MIN_RETENTION_DAYS 365 /* a new tenant's minimum retention */
struct catalog_tenant {
	char *id, *name, *state; /* state: "active", "offboarding" */
	char *store;             /* where the tenant's store lives (a folder) */
	int64_t created;
	int64_t min_retention_days; /* no policy may keep points for less (default 365) */
	char *legal_hold;           /* a hold over every unit of the tenant: its reason;
				       NULL: none */
	int64_t legal_hold_since;   /* 0: no hold */
	int erasure_four_eyes;      /* an erasure needs a second person to approve it
				       (default 1) */
	int64_t destroy_delay_days; /* between a unit's destroy and its keys' end (default 7) */
	int64_t offboard_grace_days; /* read-only before the purge (default 90) */
	int64_t offboard_requested, offboard_due; /* Unix seconds; 0: not offboarding */
};
int catalog_tenant_create(struct catalog *c, const char *name, const char *store_path,
			  struct catalog_tenant **t_r, struct error *err);
/* Inserts with a given id (catalog rebuild). */
int catalog_tenant_insert(struct catalog *c, const struct catalog_tenant *t, struct error *err);
/* Sets the tenant's state; ERROR_NOTFOUND if absent. */
int catalog_tenant_set_state(struct catalog *c, const char *id, enum catalog_tenant_state state,
			     struct error *err);
/* Sets the tenant's minimum retention; ERROR_NOTFOUND if absent. */
int catalog_tenant_set_min_retention(struct catalog *c, const char *id, int64_t days,
				     struct error *err);
/* Sets the tenant's privacy settings (docs/privacy.md); ERROR_NOTFOUND if
 * absent. */
int catalog_tenant_set_privacy(struct catalog *c, const char *id, int erasure_four_eyes,
			       int64_t destroy_delay_days, int64_t offboard_grace_days,
			       struct error *err);
/* A legal hold over the whole tenant, as catalog_unit_set_legal_hold(). */
int catalog_tenant_set_legal_hold(struct catalog *c, const char *id, const char *reason,
				  int64_t now, struct error *err);
/* When the tenant's offboarding was asked and when it falls due (both 0:
 * cancelled). The state is set apart (catalog_tenant_set_state). */
int catalog_tenant_set_offboard(struct catalog *c, const char *id, int64_t requested,
				int64_t due, struct error *err);
/* ERROR_NOTFOUND if absent. */
int catalog_tenant_get(struct catalog *c, const char *id, struct catalog_tenant **t_r,
		       struct error *err);
int catalog_tenant_list(struct catalog *c, const struct catalog_page *pg,
			struct catalog_tenant ***ts_r, size_t *n_r, struct error *err);
void catalog_tenant_free(struct catalog_tenant **t);

/* ---- protection units ---- */
struct catalog_unit {
	char *id, *tenant, *kind, *name; /* kind: "mailbox", "account", "site" */
	char *source;      /* JSON: {"type":"folder","path":...} or {"type":"imap",...} */
	char *policy;      /* NULL when no policy protects it */
	char *state;       /* "unprotected", "activating", "protected", "removed" */
	char *last_error;  /* NULL after a success */
	int64_t created, last_success, last_attempt, next_due; /* 0: never */
	int failures;      /* consecutive failed attempts (back-off) */
	char *legal_hold;  /* the hold's reason; NULL: no legal hold */
	int64_t legal_hold_since; /* when the hold was set; 0: no hold */
	int64_t destroy_requested, destroy_due; /* a pending destruction; 0: none */
	int64_t source_gone_since; /* the source was not found since then; 0: it is there */
};
/* ERROR_EXISTS if the tenant already has a unit of that name. */
int catalog_unit_create(struct catalog *c, const char *tenant, const char *kind,
			const char *name, const char *source_json, struct catalog_unit **u_r,
			struct error *err);
int catalog_unit_insert(struct catalog *c, const struct catalog_unit *u, struct error *err);
/* tenant must match: a unit of another tenant is ERROR_NOTFOUND. */
int catalog_unit_get(struct catalog *c, const char *tenant, const char *id,
		     struct catalog_unit **u_r, struct error *err);
int catalog_unit_find(struct catalog *c, const char *tenant, const char *name,
		      struct catalog_unit **u_r, struct error *err);
struct catalog_unit_filter {
	const char *kind, *policy, *state, *name_prefix; /* NULL: any */
	int source_gone; /* 1: only units whose source is gone; -1: only the others; 0: any */
};
/* tenant NULL: every tenant (the scheduler only). */
int catalog_unit_list(struct catalog *c, const char *tenant, const struct catalog_unit_filter *f,
		      const struct catalog_page *pg, struct catalog_unit ***us_r, size_t *n_r,
		      struct error *err);
/* Writes policy, state, last_error, last_success, last_attempt, next_due
 * and failures of u (matched by tenant and id). */
int catalog_unit_update(struct catalog *c, const struct catalog_unit *u, struct error *err);
/* Sets a legal hold on the unit with `reason` (legal_hold_since = now, or
 * kept if the unit is already held: a new reason does not restart it), or
 * releases it (reason NULL: both cleared). ERROR_NOTFOUND for a unit
 * unknown to the tenant. Auditing is the caller's. */
int catalog_unit_set_legal_hold(struct catalog *c, const char *tenant, const char *id,
				const char *reason, int64_t now, struct error *err);
/* Replaces the unit's source JSON (its secret sealed by the caller): a
 * webdav rule's new credentials reaching the units it made.
 * ERROR_NOTFOUND for a unit unknown to the tenant. */
int catalog_unit_set_source(struct catalog *c, const char *tenant, const char *id,
			    const char *source, struct error *err);
/* A destruction asked at `requested`, due at `due` (both 0: cancelled).
 * ERROR_NOTFOUND for a unit unknown to the tenant. */
int catalog_unit_set_destroy(struct catalog *c, const char *tenant, const char *id,
			     int64_t requested, int64_t due, struct error *err);
/* Since when the unit's source is gone (0: it is back). */
int catalog_unit_set_source_gone(struct catalog *c, const char *tenant, const char *id,
				 int64_t since, struct error *err);
void catalog_unit_free(struct catalog_unit **u);

/* ---- protection policies ---- */
struct catalog_policy {
	char *id, *tenant, *name, *kind;
	char *state;           /* "inactive", "activating", "active" */
	char *units;           /* JSON array of unit ids (the explicit list) */
	char *rules;           /* JSON array of inclusion rules, e.g.
				  [{"type":"subfolders","path":"/srv/home"}] */
	int64_t frequency_s;   /* default 600 */
	int64_t recent_days;   /* every restore point kept this long; default 14 */
	int64_t retention_days; /* default 365 */
	int64_t created, updated;
	char *drill;           /* JSON of its restore drills (docs/service.md "Restore
				  drills"); NULL: none */
};
int catalog_policy_create(struct catalog *c, struct catalog_policy *p, struct error *err);
int catalog_policy_get(struct catalog *c, const char *tenant, const char *id,
		       struct catalog_policy **p_r, struct error *err);
int catalog_policy_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
			struct catalog_policy ***ps_r, size_t *n_r, struct error *err);
/* Writes every field but id, tenant and created. */
int catalog_policy_update(struct catalog *c, const struct catalog_policy *p, struct error *err);
void catalog_policy_free(struct catalog_policy **p);

/* ---- restore points (a mirror of the store, rebuildable from it) ---- */
struct catalog_rp {
	char *tenant, *unit;
	uint32_t seq;
	int64_t time_ns;
	char *hash;        /* hex SHA-256 of the sealed manifest */
	uint64_t files, bytes, new_bytes, stored_bytes, incompressible_bytes, changed_entries;
	int nwarnings;
	int forgotten;     /* expired: manifest replaced by a tombstone */
	int64_t keep_until, retain_until; /* Unix seconds, fixed when taken; 0: unknown */
};
/* Insert or replace (tenant, unit, seq). */
int catalog_rp_put(struct catalog *c, const struct catalog_rp *rp, struct error *err);
int catalog_rp_get(struct catalog *c, const char *tenant, const char *unit, uint32_t seq,
		   struct catalog_rp **rp_r, struct error *err);
struct catalog_rp_filter {
	int64_t before_ns, after_ns; /* time_ns < before_ns, time_ns > after_ns; 0: no bound */
	int include_forgotten;
	int desc;          /* newest first: the cursor is then the last seq seen, and
			      the next page holds the seqs below it */
};
/* Ascending by seq (descending with f->desc); the page cursor is a seq in
 * decimal. */
int catalog_rp_list(struct catalog *c, const char *tenant, const char *unit,
		    const struct catalog_rp_filter *f, const struct catalog_page *pg,
		    struct catalog_rp ***rps_r, size_t *n_r, struct error *err);
/* What a unit's live (not forgotten) restore points add up to. */
struct catalog_rp_stats {
	char *unit;
	uint64_t points, bytes, stored_bytes;
	int64_t newest_ns; /* the newest point's time */
};
/* One row per unit of the tenant that has live restore points, by unit id:
 * counted and summed by the database (one GROUP BY), not by loading every
 * point. */
int catalog_rp_stats(struct catalog *c, const char *tenant, struct catalog_rp_stats ***st_r,
		     size_t *n_r, struct error *err);
void catalog_rp_stats_free(struct catalog_rp_stats **st);
int catalog_rp_mark_forgotten(struct catalog *c, const char *tenant, const char *unit,
			      uint32_t seq, struct error *err);
/* Deletes every restore point row (catalog rebuild). */
int catalog_rp_clear(struct catalog *c, struct error *err);
void catalog_rp_free(struct catalog_rp **rp);

/* ---- restore drills (docs/service.md "Restore drills") ---- */
/* One finished drill of a unit. */
struct catalog_drill {
	char *tenant, *unit;
	int64_t seq;           /* 1, 2, ... per unit */
	char *state;           /* "passed" or "failed" */
	int64_t started, finished;
	int64_t restore_point; /* the point whose sample was restored; 0: none */
	int64_t slice, slices; /* which slice of the unit's packs was read */
	int64_t packs, bytes;  /* packs read and decrypted, their bytes */
	int64_t samples;       /* files or messages restored and compared */
	int64_t withheld;      /* sampled entries the erasure ledger withholds */
	int64_t problems;
	char *detail;          /* JSON: the problems and counts */
	/* Filled by catalog_drill_latest() only: the unit's drills, failed
	 * drills, packs and bytes read, over all its drills. */
	int64_t total, failed_total, packs_total, bytes_total;
};
/* The number of the unit's next drill (1 for its first). */
int catalog_drill_next_seq(struct catalog *c, const char *tenant, const char *unit,
			   int64_t *seq_r, struct error *err);
/* ERROR_EXISTS if the unit has a drill of that number. */
int catalog_drill_put(struct catalog *c, const struct catalog_drill *d, struct error *err);
/* The unit's drills by number (desc: newest first); the cursor is a seq. */
int catalog_drill_list(struct catalog *c, const char *tenant, const char *unit, int desc,
		       const struct catalog_page *pg, struct catalog_drill ***ds_r, size_t *n_r,
		       struct error *err);
/* The newest drill of each unit of the tenant that had one (unit NULL), or
 * of that unit, by unit id, with the totals filled. */
int catalog_drill_latest(struct catalog *c, const char *tenant, const char *unit,
			 struct catalog_drill ***ds_r, size_t *n_r, struct error *err);
void catalog_drill_free(struct catalog_drill **d);

/* ---- privacy: deletion certificates, a tenant's purge (docs/privacy.md 7, 8) ---- */
/* A signed deletion certificate: body is the certificate file's text
 * (docs/privacy.md 8); subject the tenant or unit it certifies. Kept when
 * the tenant is purged. */
struct catalog_certificate {
	char *id, *tenant, *subject;
	int64_t created;
	char *body;
};
int catalog_certificate_put(struct catalog *c, const struct catalog_certificate *x,
			    struct error *err);
/* ERROR_NOTFOUND for an id unknown to the tenant. */
int catalog_certificate_get(struct catalog *c, const char *tenant, const char *id,
			    struct catalog_certificate **x_r, struct error *err);
int catalog_certificate_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
			     struct catalog_certificate ***xs_r, size_t *n_r, struct error *err);
void catalog_certificate_free(struct catalog_certificate **x);
/* Deletes, in one transaction, every row of tenant `id` (sessions and
 * artifacts, jobs, restore points, store deletions, erasures, units,
 * policies, tokens) and its tenant row, keeping its audit entries and
 * deletion certificates (tenant offboarding). */
int catalog_tenant_purge(struct catalog *c, const char *id, struct error *err);

/* ---- store deletions already imported into the audit log ---- */
/* 1 if record `name` of the unit's deletion log was imported, else 0. */
int catalog_deletion_seen(struct catalog *c, const char *tenant, const char *unit,
			  const char *name, int *seen_r, struct error *err);
int catalog_deletion_mark(struct catalog *c, const char *tenant, const char *unit,
			  const char *name, int64_t now, struct error *err);

/* ---- jobs: the work queue of the scheduler and workers ---- */
struct catalog_job {
	int64_t id;
	char *tenant, *unit, *kind; /* kind: "backup", "expire", "restore" */
	char *session;              /* restore jobs: the restore session id */
	char *state;                /* "queued", "running", "succeeded", "failed" */
	char *error, *detail;       /* detail: JSON set by the job (progress, result) */
	int attempts;
	int64_t created, not_before, started, finished;
	char *owner;         /* the node that claimed it last; NULL: never claimed */
	int64_t lease_until; /* a running job's lease ends (Unix s); 0: no lease */
	int64_t fence;       /* one more at each claim; the holder shows it to write */
};
/* Queues a job unless the unit already has one queued or running of the
 * same kind (then returns 0 with *id_r = that job's id). */
int catalog_job_enqueue(struct catalog *c, const struct catalog_job *j, int64_t *id_r,
			struct error *err);
/* Leases (docs/service.md "Jobs"): several nodes share one catalog; a
 * node runs a job only while it holds the job's lease, and writes about it
 * only with the fence its claim returned.
 *
 * Atomically takes, for `node`, the oldest (lowest id) job that is either
 * queued with not_before <= now, its unit having no running job, or
 * running with an expired lease (lease_until < now: its node died; the
 * job is taken over, error set to "taken over from node X: its lease
 * expired"). Marks it running with owner = node, lease_until = now +
 * lease_s, fence + 1, started = now, attempts + 1; 0 and *j_r NULL if
 * none. Two nodes never take the same job, nor two jobs of one unit. */
int catalog_job_claim(struct catalog *c, const char *node, int64_t now, int64_t lease_s,
		      struct catalog_job **j_r, struct error *err);
/* The same with leases on a clock of their own: `now` decides not_before
 * (the service's clock, simulated in tests), `lease_now` the leases (the
 * real clock, which every node shares). */
int catalog_job_claim_at(struct catalog *c, const char *node, int64_t now, int64_t lease_now,
			 int64_t lease_s, struct catalog_job **j_r, struct error *err);
/* Extends the lease of job `id` to lease_until if it is still running,
 * owned by node with that fence; otherwise ERROR_CONFLICT ("job N is no
 * longer ours: taken over by node Y"): the caller must stop writing for
 * the job at once (fencing). ERROR_NOTFOUND for an unknown id. */
int catalog_job_heartbeat(struct catalog *c, int64_t id, const char *node, int64_t fence,
			  int64_t lease_until, struct error *err);
/* state succeeded, failed or queued (retry later: not_before), with error
 * and detail: error NULL clears it, detail NULL keeps the job's detail.
 * node (with fence) is the lease the caller holds: a job no longer
 * running under it is refused with ERROR_CONFLICT as by
 * catalog_job_heartbeat(); node NULL skips the check (admin paths).
 * ERROR_USAGE for another state, ERROR_NOTFOUND for an unknown id. */
int catalog_job_finish(struct catalog *c, int64_t id, const char *node, int64_t fence,
		       enum catalog_job_state state, const char *error, const char *detail,
		       int64_t finished, int64_t not_before, struct error *err);
/* Writes the job's detail; node and fence as for catalog_job_finish(). */
int catalog_job_set_detail(struct catalog *c, int64_t id, const char *node, int64_t fence,
			   const char *detail, struct error *err);
/* After a restart: the "running" jobs of `node` (NULL: every node's, the
 * single-node case) back to "queued" with error set to `reason`; returns
 * how many (>= 0) or -1. Other nodes' jobs are taken over by claims when
 * their leases expire. */
int catalog_job_requeue_running(struct catalog *c, const char *node, const char *reason,
				struct error *err);
int catalog_job_get(struct catalog *c, int64_t id, struct catalog_job **j_r, struct error *err);
struct catalog_job_filter {
	const char *tenant, *unit, *kind, *state, *session; /* NULL: any */
};
int catalog_job_list(struct catalog *c, const struct catalog_job_filter *f,
		     const struct catalog_page *pg, struct catalog_job ***js_r, size_t *n_r,
		     struct error *err);
/* Whether this catalog handle leads the scheduler: of several nodes on
 * one catalog, one at a time evaluates the policies, so each due job is
 * made once. Kept until the handle closes or its connection breaks. */
int catalog_scheduler_lead(struct catalog *c, int *lead_r, struct error *err);
/* Number of queued jobs (metrics); -1 (logged) if the database failed. */
int64_t catalog_job_queue_depth(struct catalog *c);
void catalog_job_free(struct catalog_job **j);

/* ---- erasure requests (docs/privacy.md 2) ---- */
struct catalog_erasure {
	char *id, *tenant;
	char *kind;         /* "addresses", "search", "paths" */
	char *spec;         /* JSON: what the request names */
	char *reason;
	char *state;        /* "requested", "rejected", "approved" (waiting for a
			       legal hold to end), "effective" */
	char *requested_by; /* token ids */
	char *decided_by;   /* NULL until approved or rejected */
	int64_t requested, decided, effective; /* Unix seconds; 0: not yet */
	char *detail;       /* JSON: what it withholds, per unit; NULL before */
};
/* e->id is the caller's ("e-" + random). */
int catalog_erasure_insert(struct catalog *c, const struct catalog_erasure *e, struct error *err);
/* ERROR_NOTFOUND for a request unknown to the tenant. */
int catalog_erasure_get(struct catalog *c, const char *tenant, const char *id,
			struct catalog_erasure **e_r, struct error *err);
/* tenant NULL: every tenant's; state NULL: any. By id. */
int catalog_erasure_list(struct catalog *c, const char *tenant, const char *state,
			 const struct catalog_page *pg, struct catalog_erasure ***es_r, size_t *n_r,
			 struct error *err);
/* Moves the request from `from_state` to `state` (approved, rejected),
 * recording who and when; ERROR_CONFLICT if it is no longer from_state (a
 * second approver raced, or it was decided already). */
int catalog_erasure_decide(struct catalog *c, const char *tenant, const char *id,
			   const char *from_state, const char *state, const char *by, int64_t when,
			   struct error *err);
/* State "effective" since `effective`, with what it withholds. */
int catalog_erasure_set_effective(struct catalog *c, const char *tenant, const char *id,
				  int64_t effective, const char *detail, struct error *err);
void catalog_erasure_free(struct catalog_erasure **e);

/* ---- restore sessions and their per-unit artifacts ---- */
struct catalog_artifact {
	char *session, *tenant, *unit;
	uint32_t seq;          /* the restore point */
	char *mode;            /* "in_place", "new_location", "granular" */
	char *target;          /* folder written (new_location), else NULL */
	char *patterns;        /* JSON array of paths/globs (granular), else NULL */
	char *state;           /* "pending", "running", "succeeded", "failed" */
	char *error;
	uint64_t items_done, items_total, bytes_done, bytes_total;
	int64_t started, finished;
	char *withheld;        /* JSON of what the erasure ledger withheld, or NULL */
};
struct catalog_session {
	char *id, *tenant, *created_by, *state; /* "pending", "running", "succeeded", "failed" */
	int64_t created, finished;
	struct catalog_artifact **artifacts;
	size_t nartifacts;
};
/* Creates the session and its artifacts in one transaction (s->id is
 * filled; each artifact's session, and tenant if NULL, are set to the
 * session's). */
int catalog_session_create(struct catalog *c, struct catalog_session *s, struct error *err);
/* With its artifacts. */
int catalog_session_get(struct catalog *c, const char *tenant, const char *id,
			struct catalog_session **s_r, struct error *err);
/* Ascending by id, each with its artifacts. */
int catalog_session_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
			 struct catalog_session ***ss_r, size_t *n_r, struct error *err);
/* Newest first (by created, then id), each with its artifacts; the page
 * cursor is "CREATED.ID" of the last session of the previous page
 * (catalog_session_cursor). */
int catalog_session_list_newest(struct catalog *c, const char *tenant,
				const struct catalog_page *pg, struct catalog_session ***ss_r,
				size_t *n_r, struct error *err);
/* Writes s's cursor for catalog_session_list_newest into buf. */
const char *catalog_session_cursor(const struct catalog_session *s, char *buf, size_t size);
int catalog_session_set_state(struct catalog *c, const char *id,
			      enum catalog_session_state state, int64_t finished,
			      struct error *err);
/* Writes state, error, counters, target, started, finished (matched by
 * session and unit). */
int catalog_artifact_update(struct catalog *c, const struct catalog_artifact *a,
			    struct error *err);
void catalog_session_free(struct catalog_session **s);
/* Frees one artifact (for callers that build a session by hand). */
void catalog_artifact_free(struct catalog_artifact **a);

/* ---- API tokens ---- */
struct catalog_token {
	char *id, *tenant, *role, *name; /* tenant NULL: the global admin */
	int64_t created, last_used;
	int revoked;
};
/* hash: hex SHA-256 of the secret; the secret itself is never stored. */
int catalog_token_create(struct catalog *c, const char *tenant, const char *role,
			 const char *name, const char *hash, struct catalog_token **t_r,
			 struct error *err);
/* ERROR_NOTFOUND for an unknown or revoked token. */
int catalog_token_by_hash(struct catalog *c, const char *hash, struct catalog_token **t_r,
			  struct error *err);
/* tenant NULL: every token (the global admin's view). */
int catalog_token_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
		       struct catalog_token ***ts_r, size_t *n_r, struct error *err);
/* tenant must match (NULL: only a global token); ERROR_NOTFOUND otherwise. */
int catalog_token_revoke(struct catalog *c, const char *tenant, const char *id,
			 struct error *err);
/* Records a use of the token (last_used). */
int catalog_token_touch(struct catalog *c, const char *id, int64_t now, struct error *err);
/* Tokens ever created, revoked ones too, of `tenant` and `role` (each
 * NULL: any). */
int catalog_token_count(struct catalog *c, const char *tenant, const char *role, int64_t *n_r,
			struct error *err);
void catalog_token_free(struct catalog_token **t);

/* ---- audit log: append-only, hash-chained (docs/service.md "Audit") ---- */
struct catalog_audit {
	int64_t seq;
	int64_t time;
	char *tenant;  /* NULL: a global action */
	char *actor;   /* token id or "system" */
	char *action;  /* e.g. "tenant.create", "restoreSession.create", "restorePoint.list" */
	char *target;  /* what it acted on, e.g. a unit id */
	char *detail;  /* JSON */
	char *prev;    /* hex hash of entry seq-1 ("" for the first) */
	char *hash;    /* hex SHA-256 over prev and the fields (see docs) */
};
/* Appends (computing seq, prev and hash under one transaction). */
int catalog_audit_append(struct catalog *c, int64_t time, const char *tenant,
			 const char *actor, const char *action, const char *target,
			 const char *detail, struct catalog_audit **a_r, struct error *err);
struct catalog_audit_filter {
	const char *tenant;  /* NULL: every entry (global admin) */
	const char *action_prefix; /* NULL: any */
	int64_t since, until;      /* since <= time <= until; 0: no bound */
	int desc;                  /* newest first */
};
/* By seq, ascending (or descending with desc); the page cursor is a seq in
 * decimal. */
int catalog_audit_list(struct catalog *c, const struct catalog_audit_filter *f,
		       const struct catalog_page *pg, struct catalog_audit ***as_r, size_t *n_r,
		       struct error *err);
/* Recomputes the chain from the first entry; 0 if intact, -1 naming the
 * first entry that was changed or is missing (ERROR_CORRUPT). *count_r:
 * entries checked; *head_r (hex, caller frees; "" for an empty log) the
 * last hash. Removing the newest entries is not detectable here: the
 * service keeps the head elsewhere (audit.head) and compares. */
int catalog_audit_verify(struct catalog *c, int64_t *count_r, char **head_r, struct error *err);
void catalog_audit_free(struct catalog_audit **a);

/* Frees an array of records of any kind above, with its free function. */
#define CATALOG_LIST_FREE(arr, n, fn)                 \
	do {                                          \
		for (size_t i_ = 0; i_ < (n); i_++) \
			fn(&(arr)[i_]);               \
		free(arr);                            \
	} while (0)

#endif
