/* Handlers: protection policies (docs/api.md). The service authorizes,
 * reads, writes and audits creations and changes. */
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_policy_list(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	return svc_policy_list(r->svc, &r->principal, r->tenant, &pg, out, err);
}

int h_policy_create(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	int ret;

	ret = svc_policy_create(r->svc, &r->principal, r->tenant, in, out, err);
	if (ret == 0)
		r->status = 201;
	return ret;
}

int h_policy_get(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	(void)in;
	return svc_policy_get(r->svc, &r->principal, r->tenant, req_param(r, "p"), out, err);
}

int h_policy_update(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	return svc_policy_update(r->svc, &r->principal, r->tenant, req_param(r, "p"), in, out,
				 err);
}
