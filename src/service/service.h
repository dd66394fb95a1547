#ifndef COFFER_SERVICE_H
#define COFFER_SERVICE_H

/* The service (docs/service.md): tenants and their stores, protection
 * units and policies, the scheduler and its workers, restore sessions,
 * recommendations, expiry, the audit log and metrics. `coffer serve` runs
 * one; the HTTP API (server/) and the CLI (cli/cmd_serve.c) call these
 * functions and nothing below them: the catalog is the service's own
 * (service/internal.h), and no header of the server includes it.
 *
 * Every function that touches tenant data takes the caller's principal and
 * checks it with svc_authorize() first: tenant separation and roles are
 * enforced there, in one place (service/authz.c). Records and JSON given
 * back are owned by the caller. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct json_object;

/* Roles (docs/service.md "Roles"). */
enum svc_role {
	SVC_ROLE_GLOBAL_ADMIN = 1, /* manages tenants and their tokens; no tenant data */
	SVC_ROLE_TENANT_ADMIN,     /* everything inside its tenant */
	SVC_ROLE_RESTORE_OPERATOR, /* reads restore points, runs restore sessions */
	SVC_ROLE_AUDITOR,          /* reads status and the audit log only */
	SVC_ROLE_PRIVACY_OFFICER,  /* data-subject requests: erasures, subject
				      exports, access reports; status and audit */
};
#define SVC_ROLE_LAST SVC_ROLE_PRIVACY_OFFICER
const char *svc_role_name(enum svc_role r);
int svc_role_parse(const char *name, enum svc_role *r);

/* What a request may do; each API route names one. */
enum svc_perm {
	SVC_PERM_TENANTS_MANAGE = 1, /* create/list tenants, their tokens */
	SVC_PERM_STATUS_READ,        /* units, policies, restore points (metadata), sessions, jobs */
	SVC_PERM_CONFIG_WRITE,       /* units, policies, on-demand backup, tokens of the tenant */
	SVC_PERM_CONTENT_READ,       /* list/diff/search inside restore points (audited) */
	SVC_PERM_RESTORE,            /* create restore sessions */
	SVC_PERM_AUDIT_READ,         /* the tenant's audit log */
	SVC_PERM_UNIT_CREATE,        /* create units (the global admin: folder units only,
					see svc_authorize_source) */
	SVC_PERM_TENANT_SETTINGS,    /* a tenant's limits (minimum retention): the
					global admin only, so a tenant's admin cannot
					lower them */
	SVC_PERM_METRICS_READ,       /* the tenant's series of /metrics (every role of
					the tenant); the global admin: every tenant's
					and the service-wide ones (tenant NULL) */
	SVC_PERM_PRIVACY,            /* erasure requests and approvals, data-subject
					exports and access reports (docs/privacy.md;
					audited) */
};

struct svc_principal {
	char *token_id;
	char *tenant; /* NULL for the global admin */
	enum svc_role role;
};
void svc_principal_clear(struct svc_principal *p);

/* A named place for tenants' stores (docs/service.md "Locations"). */
struct svc_location {
	const char *name;   /* a-z 0-9 - _, at most 32 */
	const char *spec;   /* an absolute folder or an S3 spec (docs/s3.md); a
			       tenant's store is SPEC/<tenant id> */
	int lock_mode;      /* S3: Object Lock of new stores (BACKEND_LOCK_*; 0:
			       COMPLIANCE) */
	unsigned lock_days; /* 0: STORE_LOCK_DAYS_DEFAULT */
};
#define SVC_LOCATIONS_MAX 32
#define SVC_LOCATION_LOCAL "local" /* DATA/stores unless configured */

struct svc_config {
	const char *data_dir;     /* catalog.db, stores/, keys/, audit.head */
	const char *catalog_url;  /* default DATA/catalog.db */
	const char *listen;       /* "127.0.0.1:8470" */
	const char *tls_cert, *tls_key; /* both set: HTTPS */
	int workers;              /* backup/restore workers; default 2 */
	int restore_parallel;     /* units restored at once per session; default 2 */
	int64_t tick_ms;          /* scheduler evaluation period; default 1000 */
	int64_t min_frequency_s;  /* smallest policy frequency accepted; default 600,
				     tests lower it */
	const char *clock_file;   /* test-only simulated clock: a file holding Unix
				     seconds; NULL: the real clock */
	const char *folder_root;  /* set: a tenant's folder units and rules must be
				     inside FOLDER_ROOT/<tenant name>/; NULL: any
				     folder outside the data folder (one organization) */
	int allow_secret_command; /* imap sources may run "secretCommand" (the
				     service user runs it: off by default) */
	const char *source_allow; /* where tenants' sources may connect: entries of
				     lib/netpolicy.h, comma-separated (lines and
				     flags add up); NULL: anywhere but loopback,
				     link-local, metadata and unspecified addresses */
	const char *source_deny;  /* never, whatever source_allow says */
	size_t max_body;          /* request body limit; default 1 MiB */
	int request_timeout_s;    /* default 30 */
	int header_timeout_s;     /* whole request headers within this from a
				     connection's start (or its previous request);
				     default 10 */
	int max_connections;      /* HTTP connections at once; default 512 */
	int max_connections_per_ip; /* from one client address; default 128 */
	struct svc_location locations[SVC_LOCATIONS_MAX]; /* location.NAME lines */
	size_t nlocations;
	const char *default_location; /* where a tenant created without one goes;
					 default "local" */
	const char *service_key_file; /* default DATA/keys/service.key; the same
					 key on every node of a service */
	const char *node;         /* this node's name in job leases; default the
				     host name and the process id */
	int lease_s;              /* a job's lease; a node that stops renewing it
				     loses the job after this; default 60 */
	const char *web_root;     /* the web console's files are read from this
				     folder at each request (development);
				     NULL: the ones compiled in (docs/console.md) */
};
/* Fills defaults; then a config file (docs/service.md "Configuration"),
 * then flags override. */
void svc_config_defaults(struct svc_config *cfg);
int svc_config_load(struct svc_config *cfg, const char *path, struct error *err);
/* Sets one setting from text (names as in the config file); the config
 * file and the command line share it. ERROR_USAGE for an unknown name or
 * a bad value. */
int svc_config_set(struct svc_config *cfg, const char *key, const char *value,
		   struct error *err);

struct service;
/* Opens the catalog (migrating it), requeues jobs left running by a
 * previous process (recording why), and on first start prints a global
 * admin token once to stdout. Does not start threads. */
struct service *svc_open(const struct svc_config *cfg, struct error *err);
/* svc_open() with flags: SVC_OPEN_NO_BOOTSTRAP skips creating the first
 * global admin token (coffer catalog rebuild prints nothing). */
enum { SVC_OPEN_NO_BOOTSTRAP = 1 };
struct service *svc_open_flags(const struct svc_config *cfg, int flags, struct error *err);
/* Starts the scheduler and the workers. */
int svc_start(struct service *s, struct error *err);
/* Asks running jobs to stop at their next safe point, waits for them (a
 * stopped job goes back to the queue), then stops the threads. */
void svc_stop(struct service *s);
void svc_close(struct service **s);
const struct svc_config *svc_cfg(struct service *s);
/* The service's clock (the simulated one in tests), Unix seconds. */
int64_t svc_now(struct service *s);

/* ---- authentication and authorization (service/authz.c) ---- */
/* Looks up a bearer secret; ERROR_KEY if unknown or revoked. */
int svc_authenticate(struct service *s, const char *secret, struct svc_principal *p,
		     struct error *err);
/* 0 if p may do `perm` on `tenant` (NULL: a global resource); -1 with
 * ERROR_KEY-free code SVC_DENIED otherwise. The only place roles and
 * tenants are compared. */
#define SVC_DENIED 403
int svc_authorize(const struct svc_principal *p, const char *tenant, enum svc_perm perm,
		  struct error *err);
/* Whether p may point a unit or a rule of `tenant` at a source of `type`
 * ("folder", "imap", ...). A folder is a place on the server: without
 * folder_root, only the global admin names folders (any tenant's); with it,
 * tenants too, and the caller confines them to FOLDER_ROOT/<tenant name>/.
 * The global admin creates folder units only: it holds no tenant's mail
 * secrets. SVC_DENIED otherwise. */
int svc_authorize_source(const struct svc_principal *p, const char *type, int folder_root,
			 struct error *err);
/* Creates a token; the secret ("cft_" + 43 base64url chars) is returned
 * once in (*out)["secret"] and only its hash is stored. A tenant's admins
 * create its tokens; the global admin creates global tokens and only the
 * first tenantAdmin token of a tenant, unless it gives `break_glass` (the
 * reason, 10 to 1000 characters), which is written with its token id into
 * the tenant's audit log ("token.create.breakGlass"). by NULL: the service
 * itself (the bootstrap token). */
int svc_token_create(struct service *s, const struct svc_principal *by, const char *tenant,
		     enum svc_role role, const char *name, const char *break_glass,
		     struct json_object **out, struct error *err);

/* ---- audit (service/audit.c) ---- */
/* Appends an entry and updates DATA/audit.head, so a removed last entry is
 * detected too. Failing to audit fails the action. */
int svc_audit(struct service *s, const struct svc_principal *p, const char *tenant,
	      const char *action, const char *target, struct json_object *detail,
	      struct error *err);
/* Checks the whole chain and the head file; out: {"entries":N,"head":"…",
 * "ok":true}. tenant NULL: audit.read of the global log (the global admin);
 * else that tenant's audit.read (its admins and auditors), who get only
 * {"ok":true,"scope":"service"}: their entries are links of the one chain,
 * and how many entries the other tenants made is not theirs to know. A
 * broken chain is ERROR_CORRUPT naming the entry. */
int svc_audit_verify(struct service *s, const struct svc_principal *p, const char *tenant,
		     struct json_object **out, struct error *err);

/* ---- resources: each fills *out with the JSON the API returns ----
 * Errors carry an HTTP-minded code in err->code: ERROR_USAGE (400),
 * ERROR_NOTFOUND (404), ERROR_EXISTS (409), SVC_DENIED (403), others 500.
 * `in` is the parsed request body, already checked against unknown fields
 * by the server. */
int svc_tenant_create(struct service *s, const struct svc_principal *p, struct json_object *in,
		      struct json_object **out, struct error *err);
/* in: {"minRetentionDays": 1..36600}: no policy of the tenant may keep
 * restore points for less from then on (points already taken keep their
 * own dates). Global admin only; audited "tenant.update" with before and
 * after. */
int svc_tenant_update(struct service *s, const struct svc_principal *p, const char *tenant,
		      struct json_object *in, struct json_object **out, struct error *err);
int svc_unit_create(struct service *s, const struct svc_principal *p, const char *tenant,
		    struct json_object *in, struct json_object **out, struct error *err);
int svc_policy_create(struct service *s, const struct svc_principal *p, const char *tenant,
		      struct json_object *in, struct json_object **out, struct error *err);
/* Changes fields or state ("active" starts activation, "inactive" stops). */
int svc_policy_update(struct service *s, const struct svc_principal *p, const char *tenant,
		      const char *id, struct json_object *in, struct json_object **out,
		      struct error *err);
/* Queues an on-demand restore point; out: the job. */
int svc_backup_now(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *unit, struct json_object **out, struct error *err);
/* Queues a restore drill of the unit now (docs/service.md "Restore
 * drills"; restore permission: tenantAdmin, restoreOperator); audited
 * protectionUnit.drill; out: the job. ERROR_CONFLICT for a unit without
 * a restore point or destroyed. */
int svc_drill_now(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, struct json_object **out, struct error *err);
/* The unit's drills, newest first (status.read); the cursor is a drill
 * number. */
struct svc_page;
int svc_drill_list(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *unit, const struct svc_page *page, struct json_object **out,
		   struct error *err);
/* Recommended restore points of a unit, each with its reason. */
int svc_recommend(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, struct json_object **out, struct error *err);
/* The tenant at a glance (status.read; service/overview.c): units counted
 * by condition, live restore points and their bytes, recent anomalies,
 * the unit backed up least lately. */
int svc_overview(struct service *s, const struct svc_principal *p, const char *tenant,
		 struct json_object **out, struct error *err);
/* Forgetting a restore point by hand: refused inside retention (always,
 * whatever the role); outside it, queued like expiry. */
int svc_rp_forget(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, uint32_t seq, struct json_object **out, struct error *err);
/* Legal hold on a unit (docs/api.md, docs/s3.md "Legal hold"): with
 * reason, sets it (catalog first, so expiry stops at once, then the S3
 * legal hold on every object the unit's live points need); with reason
 * NULL, releases it (the S3 holds first, leaving what other held units
 * need, then the catalog). Audited unit.legalHold.set / .release with the
 * reason; while held, expiry skips the unit and forgetting by hand is
 * refused. config.write (tenantAdmin); out: the unit. */
int svc_unit_legal_hold(struct service *s, const struct svc_principal *p, const char *tenant,
			const char *unit, const char *reason, struct json_object **out,
			struct error *err);
/* ---- a unit's destruction (service/destroy.c; docs/privacy.md 5) ----
 * in: {"confirm": the unit's name} (else ERROR_USAGE saying so). The unit
 * takes no more backups; after its tenant's destroyDelayDays the scheduler
 * erases its key (crypto-shredding) and deletes its objects. Refused
 * under a legal hold of the unit or its tenant (ERROR_CONFLICT); a hold set
 * later holds the destruction back. config.write; audited
 * unit.destroy.request / .cancel (and .done by the job); out: the unit.
 * Cancel: ERROR_NOTFOUND when none is pending, ERROR_EXISTS once done. */
int svc_unit_destroy(struct service *s, const struct svc_principal *p, const char *tenant,
		     const char *unit, struct json_object *in, struct json_object **out,
		     struct error *err);
int svc_unit_destroy_cancel(struct service *s, const struct svc_principal *p, const char *tenant,
			    const char *unit, struct json_object **out, struct error *err);
/* One message of a mailbox unit's point as data (content read: audited
 * mail.read; service/message.c): 400 for another kind of unit, 404 for an
 * unknown path or one the erasure ledger withholds. */
int svc_rp_message(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *unit, uint32_t seq, const char *path, struct json_object **out,
		   struct error *err);
struct svc_page;
/* What changed from point `against` (0: the live point before seq) to
 * point seq, a page at a time (the cursor: how many changes came before);
 * content read, audited restorePoint.diff (service/rpdiff.c). */
int svc_rp_diff(struct service *s, const struct svc_principal *p, const char *tenant,
		const char *unit, uint32_t seq, uint32_t against, const struct svc_page *page,
		struct json_object **out, struct error *err);
/* The entries of a restore point under a path (content read: audited). */
int svc_rp_items(struct service *s, const struct svc_principal *p, const char *tenant,
		 const char *unit, uint32_t seq, const char *path, struct json_object **out,
		 struct error *err);
/* Every version of the unit's paths whose name matches `pattern` across
 * its live points (engine/find.h; content read: audited unit.find). out:
 * {unit, name, restorePoints (searched), items: [view_find_version]}. */
int svc_unit_find(struct service *s, const struct svc_principal *p, const char *tenant,
		  const char *unit, const char *pattern, int ignore_case, struct json_object **out,
		  struct error *err);
/* in: {"items":[{"unit":ID,"restorePoint":N | "before":T,"mode":…,"paths":[…]}]}
 * and "dryRun": true for a plan instead (checked the same way; nothing
 * created or queued; audited restoreSession.plan): out {"dryRun":true,
 * "items":[{unit, restorePoint, mode, target, plan, write, remove, attrs,
 * unchanged, bytes, sample, withheld}]} (service/session.c). */
int svc_session_create(struct service *s, const struct svc_principal *p, const char *tenant,
		       struct json_object *in, struct json_object **out, struct error *err);

/* ---- a tenant's legal hold, offboarding, deletion certificates
 * (service/offboard.c, service/certificate.c; docs/privacy.md 6, 7, 8) ---- */
struct svc_page;
/* reason set: a legal hold over every unit of the tenant (expiry, forgetting
 * by hand and the offboarding purge skip them all); NULL: released.
 * The tenant's admin or the global admin; audited tenant.legalHold.set /
 * .release; out: the tenant. */
int svc_tenant_legal_hold(struct service *s, const struct svc_principal *p, const char *tenant,
			  const char *reason, struct json_object **out, struct error *err);
/* in: {"confirm": the tenant's name}. The tenant turns read-only
 * ("offboarding") for its offboardGraceDays, then the scheduler purges it
 * and issues a deletion certificate. Global admin; audited; out: the
 * tenant. ERROR_CONFLICT if it already is offboarding. */
int svc_tenant_offboard(struct service *s, const struct svc_principal *p, const char *tenant,
			struct json_object *in, struct json_object **out, struct error *err);
/* Cancels an offboarding inside its grace period (ERROR_CONFLICT after). */
int svc_tenant_offboard_cancel(struct service *s, const struct svc_principal *p,
			       const char *tenant, struct json_object **out, struct error *err);
/* {"algorithm":"Ed25519","publicKey":HEX,"format":…}: no token needed. */
int svc_certificate_key(struct service *s, struct json_object **out, struct error *err);
/* The tenant's deletion certificates (global admin; the tenant's admin
 * while the tenant exists): a list with their totals, or one
 * certificate's file text (caller frees), byte for byte as signed. */
int svc_certificate_list(struct service *s, const struct svc_principal *p, const char *tenant,
			 const struct svc_page *page, struct json_object **out, struct error *err);
int svc_certificate_get(struct service *s, const struct svc_principal *p, const char *tenant,
			const char *id, char **text_r, struct error *err);

/* ---- reads (service/read.c): each checks p with svc_authorize() for
 * `tenant` (status.read, or as named) and fills *out with the API's JSON
 * (service/views.c). A missing record, or one of another tenant, is
 * ERROR_NOTFOUND. ----
 *
 * Lists answer {"items":[...],"next":CURSOR|null}: at most page->limit
 * items after page->after (the "next" of the previous page; NULL: from the
 * start), in a stable order (by id; restore points, jobs and the audit log
 * by number); "next" is the last item's cursor when the page is full. */
struct svc_page {
	const char *after; /* NULL: the first page */
	int limit;         /* 1..1000 (the server checks the query) */
};
/* Every tenant (tenants.manage, global). */
int svc_tenant_list(struct service *s, const struct svc_principal *p,
		    const struct svc_page *page, struct json_object **out, struct error *err);
int svc_tenant_get(struct service *s, const struct svc_principal *p, const char *tenant,
		   struct json_object **out, struct error *err);
/* The token's own id, tenant (and its name: NULL for the global admin)
 * and role: {"token","tenant","tenantName","role"}. Any valid token. */
int svc_whoami(struct service *s, const struct svc_principal *p, struct json_object **out,
	       struct error *err);
/* The tokens of `tenant`, or with tenant NULL every token (the global
 * admin's view); tenants.manage. */
int svc_token_list(struct service *s, const struct svc_principal *p, const char *tenant,
		   const struct svc_page *page, struct json_object **out, struct error *err);
/* Revokes token `id` of `tenant` (NULL: a global token) and audits
 * "token.revoke"; out: {"id":ID,"revoked":true}. tenants.manage. */
int svc_token_revoke(struct service *s, const struct svc_principal *p, const char *tenant,
		     const char *id, struct json_object **out, struct error *err);
struct svc_unit_filter {
	const char *kind, *policy, *state, *name_prefix; /* NULL: any */
	int source_gone; /* 1: only units whose source is gone; -1: only the others; 0: any */
};
int svc_unit_list(struct service *s, const struct svc_principal *p, const char *tenant,
		  const struct svc_unit_filter *f, const struct svc_page *page,
		  struct json_object **out, struct error *err);
int svc_unit_get(struct service *s, const struct svc_principal *p, const char *tenant,
		 const char *unit, struct json_object **out, struct error *err);
struct svc_rp_filter {
	int64_t since, until;  /* Unix seconds, inclusive; 0: no bound */
	int include_forgotten; /* forgotten points too */
	int desc;              /* newest first (?order=desc) */
};
/* A unit's restore points; an unknown unit is ERROR_NOTFOUND, not an empty
 * list. */
int svc_rp_list(struct service *s, const struct svc_principal *p, const char *tenant,
		const char *unit, const struct svc_rp_filter *f, const struct svc_page *page,
		struct json_object **out, struct error *err);
int svc_rp_get(struct service *s, const struct svc_principal *p, const char *tenant,
	       const char *unit, uint32_t seq, struct json_object **out, struct error *err);
int svc_policy_list(struct service *s, const struct svc_principal *p, const char *tenant,
		    const struct svc_page *page, struct json_object **out, struct error *err);
int svc_policy_get(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *id, struct json_object **out, struct error *err);
/* Restore sessions, each with its artifacts, progress and ETA: by id, or
 * the newest first. */
int svc_session_list(struct service *s, const struct svc_principal *p, const char *tenant,
		     int newest_first, const struct svc_page *page, struct json_object **out,
		     struct error *err);
int svc_session_get(struct service *s, const struct svc_principal *p, const char *tenant,
		    const char *id, struct json_object **out, struct error *err);
struct svc_job_filter {
	const char *unit, *kind, *state, *session; /* NULL: any */
};
int svc_job_list(struct service *s, const struct svc_principal *p, const char *tenant,
		 const struct svc_job_filter *f, const struct svc_page *page,
		 struct json_object **out, struct error *err);
struct svc_audit_filter {
	const char *tenant;        /* only when the log read is the global one: NULL, every
				      entry; else that tenant's */
	const char *action_prefix; /* NULL: any */
	int64_t since, until;      /* Unix seconds, inclusive; 0: no bound */
	int desc;                  /* newest first (?order=desc) */
};
/* The audit log of `tenant`, or with tenant NULL the global admin's view of
 * every entry (narrowed by f->tenant); audit.read. */
int svc_audit_list(struct service *s, const struct svc_principal *p, const char *tenant,
		   const struct svc_audit_filter *f, const struct svc_page *page,
		   struct json_object **out, struct error *err);

/* ---- the store side ---- */
/* Rebuilds every restore point row (and tenants and units missing from
 * the catalog) from the stores under DATA/stores (coffer catalog rebuild). */
int svc_catalog_rebuild(struct service *s, struct json_object **out, struct error *err);
/* Writes a tenant's store key and/or deletion key (NULL: not that one) as
 * new 0600 files, derived from the service key that cfg names
 * (docs/service.md "Keys"): for work on the store by hand, or a restore
 * when the service is gone. A tenant made before keys were derived has
 * its key files in DATA/keys already. */
int svc_tenant_keys_write(const struct svc_config *cfg, const char *tenant,
			  const char *key_file, const char *deletion_key_file, struct error *err);
/* Prometheus text exposition; caller frees. Only the series p may read
 * (SVC_PERM_METRICS_READ): a tenant's token gets the series labelled with
 * its tenant, the global admin all of them and the unlabelled ones. p NULL:
 * everything (a scrape without a token, which the server allows on a
 * loopback listen address only). */
char *svc_metrics(struct service *s, const struct svc_principal *p);
/* GET /v1/health, no token: {"status": "ok"|"degraded", "node", "checks":
 * {"catalog": "ok"|error, "locations": {NAME: "ok"|error}}}. The catalog
 * is asked now; a location reports how the last opening of a store there
 * went (nothing yet: "ok"). Errors say what failed, never a secret. */
struct json_object *svc_health(struct service *s);

/* ---- erasure requests (service/erasure.c; docs/privacy.md 2) ----
 * Permission privacy (privacyOfficer, tenantAdmin); every step audited.
 * in: {"kind": "addresses", "addresses": [A...]} | {"kind": "search",
 * "filters": {...}} | {"kind": "paths", "unit": ID, "paths": [GLOB...]},
 * and "reason". A request waits for a second person's approval (unless the
 * tenant turned four-eyes off): the requester may not approve it
 * (SVC_DENIED). Approved, it takes effect at once, or when the legal holds
 * that cover it end. out: the request. */
int svc_erasure_create(struct service *s, const struct svc_principal *p, const char *tenant,
		       struct json_object *in, struct json_object **out, struct error *err);
/* approve 1: approve; 0: reject (also the requester's withdrawal).
 * ERROR_CONFLICT if it was decided already. */
int svc_erasure_decide(struct service *s, const struct svc_principal *p, const char *tenant,
		       const char *id, int approve, struct json_object **out, struct error *err);
int svc_erasure_get(struct service *s, const struct svc_principal *p, const char *tenant,
		    const char *id, struct json_object **out, struct error *err);
/* state NULL: any. */
int svc_erasure_list(struct service *s, const struct svc_principal *p, const char *tenant,
		     const char *state, const struct svc_page *page, struct json_object **out,
		     struct error *err);

/* ---- mail search and export (service/search.c; docs/service.md
 * "Mailboxes in the service") ----
 * One search index per tenant, DATA/search/<tenant id>.db, kept up to date
 * after each mailbox backup and, when behind, before a search. Filters are
 * a JSON object of strings (query parameters) or typed values (a body):
 * "unit", "from", "to", "subject", "body", "folder", "since", "until"
 * (Unix seconds, YYYY-MM-DD or RFC 3339 UTC), "hasAttachment" (true/false),
 * "restorePoint" (needs "unit"), and for a search "limit" (1..1000, default
 * 50) and "after" (the "next" cursor of the previous page). Every search
 * and export is audited ("mail.search", "mail.export") with its filters
 * before anything is read; permission content.read. */
int svc_mail_search(struct service *s, const struct svc_principal *p, const char *tenant,
		    struct json_object *filters, struct json_object **out, struct error *err);

/* An export: an open, already unlinked file of `size` bytes (mboxrd,
 * docs/mail.md section 6) holding `messages` messages; the caller sends
 * and closes fd. */
struct svc_export {
	int fd;
	uint64_t size, messages;
	/* What the erasure ledger withheld: a count and erasure_set_report's
	 * JSON text (or NULL), which the caller frees. */
	uint64_t withheld;
	char *withheld_by;
};
/* Restore point unit@seq (folder: NULL, or an IMAP name or tree path, with
 * the folders below it) as mbox; format NULL or "mbox". */
int svc_mail_export_rp(struct service *s, const struct svc_principal *p, const char *tenant,
		       const char *unit, uint32_t seq, const char *folder, const char *format,
		       struct svc_export *x, struct error *err);
/* Every message a search finds (all pages; filters as svc_mail_search,
 * plus "format"), each from the newest matching restore point. */
int svc_mail_export_search(struct service *s, const struct svc_principal *p, const char *tenant,
			   struct json_object *filters, struct svc_export *x, struct error *err);
/* Indexes restore point unit@seq of a mailbox unit after its backup job
 * `job` (0: none): a failure is logged and written into the job's detail
 * ("searchIndex"), never returned: the backup stands. */
void svc_mail_index_point(struct service *s, const char *tenant, const char *unit, uint32_t seq,
			  int64_t job);

/* ---- data-subject requests (service/subject.c; docs/privacy.md 9, 10);
 * permission privacy ---- */
/* in: {"address": A, "format": "mbox"}: every message of any restore point
 * of any mailbox unit of the tenant with A (the whole address, any case) in
 * From, Sender, Reply-To, To, Cc or Bcc, each once however many points and
 * mailboxes hold it (by the SHA-256 of its bytes), as mboxrd: before each
 * message's exact bytes, one "X-Coffer-Source:" line per place it was
 * found (unit, folder, UID, first and last restore point). Audited
 * "subject.export" with the address and what the index names before any
 * message is read. */
int svc_subject_export(struct service *s, const struct svc_principal *p, const char *tenant,
		       struct json_object *in, struct svc_export *x, struct error *err);
struct svc_access_query {
	const char *unit;     /* a unit's id or name ... */
	const char *address;  /* ... or an address: exactly one */
	int64_t since, until; /* Unix seconds, inclusive; 0: no bound */
};
/* Who searched, read, exported or restored the unit's content, or content
 * about the address, from the tenant's audit log: {"items": [{seq, time,
 * actor, actorName, actorRole, action, unit, unitName, restorePoint,
 * allUnits, messages, target, what}], "next"} paged by audit entry number.
 * Audited "subject.report". */
int svc_access_report(struct service *s, const struct svc_principal *p, const char *tenant,
		      const struct svc_access_query *q, const struct svc_page *page,
		      struct json_object **out, struct error *err);

#endif
