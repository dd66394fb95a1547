/* The API's reads (service.h "reads"): each authorizes the caller with
 * svc_authorize() for the tenant asked, reads the catalog with that tenant
 * (so a record of another tenant is ERROR_NOTFOUND) and answers the JSON of
 * service/views.c. Lists share one page helper, list_answer(). Writes that
 * sit beside these (create, update, revoke) live with their resource
 * (tenant.c, unit.c, policy.c, authz.c, session.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"

/* ---- pages ---- */

/* The catalog's page for an API page: NULL is the first page of 100. */
static struct catalog_page page_of(const struct svc_page *page)
{
	struct catalog_page pg = { NULL, 100 };

	if (page != NULL) {
		pg.after = page->after;
		if (page->limit > 0)
			pg.limit = page->limit > 1000 ? 1000 : page->limit;
	}
	return pg;
}

/* What list_answer() needs of one kind of record: recs is the catalog's
 * array (struct catalog_X **) as the list function returned it. */
struct list_kind {
	/* The JSON of recs[i]; arg as given to list_answer(). */
	struct json_object *(*view)(const void *recs, size_t i, void *arg);
	/* The page cursor of recs[i]: its id, or its number written in num. */
	const char *(*cursor)(const void *recs, size_t i, char num[32]);
};

/* {"items":[view of each record],"next":CURSOR|null} (docs/api.md
 * "Lists"): next is the last record's cursor when the page is full, so the
 * last page may come back empty. The records stay the caller's. */
static struct json_object *list_answer(const struct list_kind *k, const void *recs, size_t n,
				       const struct catalog_page *pg, void *arg)
{
	struct json_object *o = json_object_new_object(), *items = json_object_new_array();
	char num[32];

	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, k->view(recs, i, arg));
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "next", n > 0 && n == (size_t)pg->limit
				  ? json_object_new_string(k->cursor(recs, n - 1, num)) : NULL);
	return o;
}

/* A list_kind of records with an id that is their cursor. */
#define LIST_KIND_BY_ID(kind, type, view_fn)                                                 \
	static struct json_object *kind##_view(const void *recs, size_t i, void *arg)          \
	{                                                                                      \
		(void)arg;                                                                     \
		return view_fn(((type *const *)recs)[i]);                                      \
	}                                                                                      \
	static const char *kind##_cursor(const void *recs, size_t i, char num[32])             \
	{                                                                                      \
		(void)num;                                                                     \
		return ((type *const *)recs)[i]->id;                                           \
	}                                                                                      \
	static const struct list_kind kind##_kind = { kind##_view, kind##_cursor }

LIST_KIND_BY_ID(tenants, struct catalog_tenant, view_tenant);
LIST_KIND_BY_ID(tokens, struct catalog_token, view_token);
LIST_KIND_BY_ID(units, struct catalog_unit, view_unit);
LIST_KIND_BY_ID(policies, struct catalog_policy, view_policy);

/* Sessions: arg points at the service's time (progress and ETA). */
static struct json_object *sessions_view(const void *recs, size_t i, void *arg)
{
	return view_session(((struct catalog_session *const *)recs)[i], *(const int64_t *)arg);
}

static const char *sessions_cursor(const void *recs, size_t i, char num[32])
{
	(void)num;
	return ((struct catalog_session *const *)recs)[i]->id;
}

static const struct list_kind sessions_kind = { sessions_view, sessions_cursor };

/* Newest first: the cursor names the time too (catalog_session_cursor). */
static const char *sessions_newest_cursor(const void *recs, size_t i, char num[32])
{
	return catalog_session_cursor(((struct catalog_session *const *)recs)[i], num, 32);
}

static const struct list_kind sessions_newest_kind = { sessions_view, sessions_newest_cursor };

/* Restore points, jobs and audit entries: by number. */
static struct json_object *rps_view(const void *recs, size_t i, void *arg)
{
	(void)arg;
	return view_rp(((struct catalog_rp *const *)recs)[i]);
}

static const char *rps_cursor(const void *recs, size_t i, char num[32])
{
	snprintf(num, 32, "%" PRIu32, ((struct catalog_rp *const *)recs)[i]->seq);
	return num;
}

static const struct list_kind rps_kind = { rps_view, rps_cursor };

static struct json_object *jobs_view(const void *recs, size_t i, void *arg)
{
	(void)arg;
	return view_job(((struct catalog_job *const *)recs)[i]);
}

static const char *jobs_cursor(const void *recs, size_t i, char num[32])
{
	snprintf(num, 32, "%" PRId64, ((struct catalog_job *const *)recs)[i]->id);
	return num;
}

static const struct list_kind jobs_kind = { jobs_view, jobs_cursor };

static struct json_object *audit_view(const void *recs, size_t i, void *arg)
{
	(void)arg;
	return view_audit(((struct catalog_audit *const *)recs)[i]);
}

static const char *audit_cursor(const void *recs, size_t i, char num[32])
{
	snprintf(num, 32, "%" PRId64, ((struct catalog_audit *const *)recs)[i]->seq);
	return num;
}

static const struct list_kind audit_kind = { audit_view, audit_cursor };

/* ---- tenants and tokens ---- */

int svc_tenant_list(struct service *s, const struct svc_principal *p,
		    const struct svc_page *page, struct json_object **out, struct error *err)
{
	struct catalog_page pg = page_of(page);
	struct catalog_tenant **ts = NULL;
	size_t n = 0;

	*out = NULL;
	if (svc_authorize(p, NULL, SVC_PERM_TENANTS_MANAGE, err) < 0 ||
	    catalog_tenant_list(svc_catalog(s), &pg, &ts, &n, err) < 0)
		return -1;
	*out = list_answer(&tenants_kind, ts, n, &pg, NULL);
	CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	return 0;
}

int svc_tenant_get(struct service *s, const struct svc_principal *p, const char *tenant,
		   struct json_object **out, struct error *err)
{
	struct catalog_tenant *t = NULL;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_TENANTS_MANAGE, err) < 0 ||
	    catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	*out = view_tenant(t);
	catalog_tenant_free(&t);
	return 0;
}

/* Any valid token may know who it is, and the name of its own tenant:
 * the console shows it in its header. */
int svc_whoami(struct service *s, const struct svc_principal *p, struct json_object **out,
	       struct error *err)
{
	struct catalog_tenant *t = NULL;

	*out = NULL;
	if (p->tenant != NULL && catalog_tenant_get(svc_catalog(s), p->tenant, &t, err) < 0)
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "token", json_object_new_string(p->token_id));
	json_object_object_add(*out, "tenant", p->tenant ? json_object_new_string(p->tenant) : NULL);
	json_object_object_add(*out, "tenantName", t ? json_object_new_string(t->name) : NULL);
	json_object_object_add(*out, "role", json_object_new_string(svc_role_name(p->role)));
	catalog_tenant_free(&t);
	return 0;
}

int svc_token_list(struct service *s, const struct svc_principal *p, const char *tenant,
		   const struct svc_page *page, struct json_object **out, struct error *err)
{
	struct catalog_page pg = page_of(page);
	struct catalog_token **ts = NULL;
	size_t n = 0;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_TENANTS_MANAGE, err) < 0 ||
	    catalog_token_list(svc_catalog(s), tenant, &pg, &ts, &n, err) < 0)
		return -1;
	*out = list_answer(&tokens_kind, ts, n, &pg, NULL);
	CATALOG_LIST_FREE(ts, n, catalog_token_free);
	return 0;
}

/* ---- units and their restore points ---- */

int svc_unit_list(struct service *s, const struct svc_principal *p, const char *tenant,
		  const struct svc_unit_filter *f, const struct svc_page *page,
		  struct json_object **out, struct error *err)
{
	struct catalog_unit_filter cf = { 0 };
	struct catalog_page pg = page_of(page);
	struct catalog_unit **us = NULL;
	struct json_object *items;
	size_t n = 0;

	*out = NULL;
	if (f != NULL) {
		cf.kind = f->kind;
		cf.policy = f->policy;
		cf.state = f->state;
		cf.name_prefix = f->name_prefix;
		cf.source_gone = f->source_gone;
	}
	/* tenant NULL would list every tenant's units: svc_authorize refuses
	 * it for status.read, whoever asks. */
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_unit_list(svc_catalog(s), tenant, &cf, &pg, &us, &n, err) < 0)
		return -1;
	*out = list_answer(&units_kind, us, n, &pg, NULL);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	if (json_object_object_get_ex(*out, "items", &items))
		svc_drill_annotate(s, tenant, items);
	return 0;
}

int svc_unit_get(struct service *s, const struct svc_principal *p, const char *tenant,
		 const char *unit, struct json_object **out, struct error *err)
{
	struct catalog_unit *u = NULL;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	*out = view_unit(u);
	catalog_unit_free(&u);
	svc_drill_annotate(s, tenant, *out);
	return 0;
}

int svc_rp_list(struct service *s, const struct svc_principal *p, const char *tenant,
		const char *unit, const struct svc_rp_filter *f, const struct svc_page *page,
		struct json_object **out, struct error *err)
{
	struct catalog_rp_filter cf = { 0 };
	struct catalog_page pg = page_of(page);
	struct catalog_rp **rps = NULL;
	struct catalog_unit *u = NULL;
	size_t n = 0;

	*out = NULL;
	/* since and until are inclusive, in seconds; the catalog's bounds are
	 * exclusive, in ns. */
	if (f != NULL) {
		cf.after_ns = f->since ? f->since * 1000000000 - 1 : 0;
		cf.before_ns = f->until ? (f->until + 1) * 1000000000 : 0;
		cf.include_forgotten = f->include_forgotten;
		cf.desc = f->desc;
	}
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0)
		return -1;
	/* An unknown unit is 404, not an empty list. */
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	catalog_unit_free(&u);
	if (catalog_rp_list(svc_catalog(s), tenant, unit, &cf, &pg, &rps, &n, err) < 0)
		return -1;
	*out = list_answer(&rps_kind, rps, n, &pg, NULL);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	return 0;
}

int svc_rp_get(struct service *s, const struct svc_principal *p, const char *tenant,
	       const char *unit, uint32_t seq, struct json_object **out, struct error *err)
{
	struct catalog_rp *rp = NULL;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_rp_get(svc_catalog(s), tenant, unit, seq, &rp, err) < 0)
		return -1;
	*out = view_rp(rp);
	catalog_rp_free(&rp);
	return 0;
}

/* ---- policies, sessions, jobs ---- */

int svc_policy_list(struct service *s, const struct svc_principal *p, const char *tenant,
		    const struct svc_page *page, struct json_object **out, struct error *err)
{
	struct catalog_page pg = page_of(page);
	struct catalog_policy **ps = NULL;
	size_t n = 0;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_policy_list(svc_catalog(s), tenant, &pg, &ps, &n, err) < 0)
		return -1;
	*out = list_answer(&policies_kind, ps, n, &pg, NULL);
	CATALOG_LIST_FREE(ps, n, catalog_policy_free);
	return 0;
}

int svc_policy_get(struct service *s, const struct svc_principal *p, const char *tenant,
		   const char *id, struct json_object **out, struct error *err)
{
	struct catalog_policy *pol = NULL;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_policy_get(svc_catalog(s), tenant, id, &pol, err) < 0)
		return -1;
	*out = view_policy(pol);
	catalog_policy_free(&pol);
	return 0;
}

int svc_session_list(struct service *s, const struct svc_principal *p, const char *tenant,
		     int newest_first, const struct svc_page *page, struct json_object **out,
		     struct error *err)
{
	struct catalog_page pg = page_of(page);
	struct catalog_session **ss = NULL;
	int64_t now = svc_now(s);
	size_t n = 0;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    (newest_first ? catalog_session_list_newest : catalog_session_list)(
		    svc_catalog(s), tenant, &pg, &ss, &n, err) < 0)
		return -1;
	*out = list_answer(newest_first ? &sessions_newest_kind : &sessions_kind, ss, n, &pg, &now);
	CATALOG_LIST_FREE(ss, n, catalog_session_free);
	return 0;
}

int svc_session_get(struct service *s, const struct svc_principal *p, const char *tenant,
		    const char *id, struct json_object **out, struct error *err)
{
	struct catalog_session *se = NULL;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_session_get(svc_catalog(s), tenant, id, &se, err) < 0)
		return -1;
	*out = view_session(se, svc_now(s));
	catalog_session_free(&se);
	return 0;
}

int svc_job_list(struct service *s, const struct svc_principal *p, const char *tenant,
		 const struct svc_job_filter *f, const struct svc_page *page,
		 struct json_object **out, struct error *err)
{
	struct catalog_job_filter cf = { .tenant = tenant };
	struct catalog_page pg = page_of(page);
	struct catalog_job **js = NULL;
	size_t n = 0;

	*out = NULL;
	if (f != NULL) {
		cf.unit = f->unit;
		cf.kind = f->kind;
		cf.state = f->state;
		cf.session = f->session;
	}
	if (svc_authorize(p, tenant, SVC_PERM_STATUS_READ, err) < 0 ||
	    catalog_job_list(svc_catalog(s), &cf, &pg, &js, &n, err) < 0)
		return -1;
	*out = list_answer(&jobs_kind, js, n, &pg, NULL);
	CATALOG_LIST_FREE(js, n, catalog_job_free);
	return 0;
}

/* ---- the audit log ---- */

int svc_audit_list(struct service *s, const struct svc_principal *p, const char *tenant,
		   const struct svc_audit_filter *f, const struct svc_page *page,
		   struct json_object **out, struct error *err)
{
	struct catalog_audit_filter cf = { .tenant = tenant };
	struct catalog_page pg = page_of(page);
	struct catalog_audit **as = NULL;
	size_t n = 0;

	*out = NULL;
	if (f != NULL) {
		/* A tenant's log is that tenant's, whatever the filter says. */
		if (tenant == NULL)
			cf.tenant = f->tenant;
		cf.action_prefix = f->action_prefix;
		cf.since = f->since;
		cf.until = f->until;
		cf.desc = f->desc;
	}
	if (svc_authorize(p, tenant, SVC_PERM_AUDIT_READ, err) < 0 ||
	    catalog_audit_list(svc_catalog(s), &cf, &pg, &as, &n, err) < 0)
		return -1;
	*out = list_answer(&audit_kind, as, n, &pg, NULL);
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	return 0;
}
