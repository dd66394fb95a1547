/* Handlers: restore sessions (docs/api.md). The service authorizes,
 * reads, and creates and audits sessions. */
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_session_list(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	struct svc_page pg;
	int desc;

	(void)in;
	if (req_page(r, &pg, err) < 0 || req_order(r, &desc, err) < 0)
		return -1;
	return svc_session_list(r->svc, &r->principal, r->tenant, desc, &pg, out, err);
}

/* svc_session_create audits the session, or the plan of a dry run (200:
 * nothing was created). */
int h_session_create(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	int ret;

	ret = svc_session_create(r->svc, &r->principal, r->tenant, in, out, err);
	if (ret == 0 && !json_object_object_get_ex(*out, "dryRun", NULL))
		r->status = 201;
	return ret;
}

int h_session_get(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	(void)in;
	return svc_session_get(r->svc, &r->principal, r->tenant, req_param(r, "s"), out, err);
}
