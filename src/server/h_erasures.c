/* Erasure requests (docs/api.md "Erasure requests", docs/privacy.md 2). */
#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_erasure_list(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	return svc_erasure_list(r->svc, &r->principal, r->tenant, req_query(r, "state"), &pg, out,
				err);
}

int h_erasure_create(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	int ret = svc_erasure_create(r->svc, &r->principal, r->tenant, in, out, err);

	if (ret == 0)
		r->status = 201;
	return ret;
}

int h_erasure_get(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	(void)in;
	return svc_erasure_get(r->svc, &r->principal, r->tenant, req_param(r, "e"), out, err);
}

int h_erasure_approve(struct request *r, struct json_object *in, struct json_object **out,
		      struct error *err)
{
	(void)in;
	return svc_erasure_decide(r->svc, &r->principal, r->tenant, req_param(r, "e"), 1, out,
				  err);
}

int h_erasure_reject(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	(void)in;
	return svc_erasure_decide(r->svc, &r->principal, r->tenant, req_param(r, "e"), 0, out,
				  err);
}
