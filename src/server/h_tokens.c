/* Handlers: API tokens of a tenant ({t} in the path) or, on /v1/tokens,
 * global ones and every token (docs/api.md). The service authorizes and
 * audits. */
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_token_list(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	return svc_token_list(r->svc, &r->principal, r->tenant, &pg, out, err);
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

/* svc_token_revoke audits the revocation. */
int h_token_revoke(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	(void)in;
	return svc_token_revoke(r->svc, &r->principal, r->tenant, req_param(r, "k"), out, err);
}
