/* Handlers: health, whoami, metrics, tenants, tokens, the audit log
 * (docs/api.md). Routes have authorized the request already. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "server/request.h"
#include "service/views.h"

int h_health(struct request *r, struct json_object *in, struct json_object **out,
	     struct error *err)
{
	(void)r;
	(void)in;
	(void)err;
	*out = json_object_new_object();
	json_object_object_add(*out, "status", json_object_new_string("ok"));
	return 0;
}

int h_whoami(struct request *r, struct json_object *in, struct json_object **out,
	     struct error *err)
{
	(void)in;
	(void)err;
	*out = json_object_new_object();
	json_object_object_add(*out, "token", json_object_new_string(r->principal.token_id));
	json_object_object_add(*out, "tenant", r->principal.tenant
			       ? json_object_new_string(r->principal.tenant) : NULL);
	json_object_object_add(*out, "role",
			       json_object_new_string(svc_role_name(r->principal.role)));
	return 0;
}

int h_metrics(struct request *r, struct json_object *in, struct json_object **out,
	      struct error *err)
{
	(void)in;
	*out = NULL;
	/* No principal: a scrape without a token, allowed on loopback only
	 * (routes.c); a token sees what svc_authorize lets it. */
	r->text = svc_metrics(r->svc, r->authenticated ? &r->principal : NULL);
	if (r->text == NULL)
		return error_set(err, "metrics: the service could not produce them");
	r->text_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}

/* ---- tenants ---- */

int h_tenant_list(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	struct catalog_page pg;
	struct catalog_tenant **ts = NULL;
	struct json_object *items;
	size_t n = 0;

	(void)in;
	if (req_page(r, &pg, err) < 0 ||
	    catalog_tenant_list(svc_catalog(r->svc), &pg, &ts, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_tenant(ts[i]));
	*out = req_list(items, pg.limit, n ? ts[n - 1]->id : NULL);
	CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	return 0;
}

/* svc_tenant_create audits the creation. */
int h_tenant_create(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	int ret;

	ret = svc_tenant_create(r->svc, &r->principal, in, out, err);
	if (ret == 0)
		r->status = 201;
	return ret;
}

int h_tenant_get(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	struct catalog_tenant *t = NULL;

	(void)in;
	if (catalog_tenant_get(svc_catalog(r->svc), r->tenant, &t, err) < 0)
		return -1;
	*out = view_tenant(t);
	catalog_tenant_free(t);
	return 0;
}

int h_tenant_update(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	return svc_tenant_update(r->svc, &r->principal, r->tenant, in, out, err);
}

/* ---- tokens: of a tenant ({t} in the path) or, on /v1/tokens, any ---- */

int h_token_list(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	struct catalog_page pg;
	struct catalog_token **ts = NULL;
	struct json_object *items;
	size_t n = 0;

	(void)in;
	if (req_page(r, &pg, err) < 0 ||
	    catalog_token_list(svc_catalog(r->svc), r->tenant, &pg, &ts, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_token(ts[i]));
	*out = req_list(items, pg.limit, n ? ts[n - 1]->id : NULL);
	CATALOG_LIST_FREE(ts, n, catalog_token_free);
	return 0;
}

int h_token_create(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	const char *name, *role_name, *break_glass, *tenant = r->tenant;
	enum svc_role role;

	if (req_str(in, "name", &name, err) < 0 || req_str(in, "role", &role_name, err) < 0 ||
	    req_str(in, "breakGlass", &break_glass, err) < 0)
		return -1;
	if (tenant == NULL && req_str(in, "tenant", &tenant, err) < 0)
		return -1;
	if (name == NULL || role_name == NULL)
		return error_setk(err, ERROR_USAGE, "create token: fields \"name\" and \"role\" are "
				  "needed");
	if (svc_role_parse(role_name, &role) < 0)
		return error_setk(err, ERROR_USAGE, "create token: unknown role \"%.40s\" (one of "
				  "globalAdmin, tenantAdmin, restoreOperator, auditor)", role_name);
	if (svc_token_create(r->svc, &r->principal, tenant, role, name, break_glass, out, err) < 0)
		return -1;
	r->status = 201;
	return 0;
}

int h_token_revoke(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	const char *id = req_param(r, "k");

	(void)in;
	if (catalog_token_revoke(svc_catalog(r->svc), r->tenant, id, err) < 0)
		return error_prefix(err, "revoke token %s", id);
	if (svc_audit(r->svc, &r->principal, r->tenant, "token.revoke", id, NULL, err) < 0)
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "id", json_object_new_string(id));
	json_object_object_add(*out, "revoked", json_object_new_boolean(1));
	return 0;
}

/* ---- the audit log: a tenant's ({t}) or, on /v1/auditLog, every entry ---- */

int h_audit_list(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	struct catalog_audit_filter f = { 0 };
	struct catalog_page pg;
	struct catalog_audit **as = NULL;
	struct json_object *items;
	char cursor[32] = "";
	size_t n = 0;

	(void)in;
	f.tenant = r->tenant ? r->tenant : req_query(r, "tenant");
	f.action_prefix = req_query(r, "action");
	if (req_page(r, &pg, err) < 0 || req_time(r, "since", &f.since, err) < 0 ||
	    req_time(r, "until", &f.until, err) < 0 ||
	    catalog_audit_list(svc_catalog(r->svc), &f, &pg, &as, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_audit(as[i]));
	if (n)
		snprintf(cursor, sizeof(cursor), "%" PRId64, as[n - 1]->seq);
	*out = req_list(items, pg.limit, n ? cursor : NULL);
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	return 0;
}

/* A broken chain is an answer, not a failure of the request: 200 with
 * "ok": false and the entry named. */
int h_audit_verify(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	(void)in;
	if (svc_audit_verify(r->svc, out, err) == 0)
		return 0;
	if (err->code != ERROR_CORRUPT)
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "ok", json_object_new_boolean(0));
	json_object_object_add(*out, "error", json_object_new_string(err->msg));
	return 0;
}
