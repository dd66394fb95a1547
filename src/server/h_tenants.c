/* Handlers: tenants (docs/api.md). The service authorizes, reads, writes
 * and audits. */
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_tenant_list(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	return svc_tenant_list(r->svc, &r->principal, &pg, out, err);
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
	(void)in;
	return svc_tenant_get(r->svc, &r->principal, r->tenant, out, err);
}

int h_tenant_update(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	return svc_tenant_update(r->svc, &r->principal, r->tenant, in, out, err);
}
