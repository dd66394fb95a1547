/* Handlers: a unit's destruction (docs/api.md, docs/privacy.md 5). POST
 * {"confirm": the unit's name} asks for it, DELETE cancels it within the
 * tenant's destroy delay; the service checks the confirmation and holds
 * and audits both. */
#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_unit_destroy(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	if (svc_unit_destroy(r->svc, &r->principal, r->tenant, req_param(r, "u"), in, out,
			     err) < 0)
		return -1;
	r->status = 202;
	return 0;
}

int h_unit_destroy_cancel(struct request *r, struct json_object *in, struct json_object **out,
			  struct error *err)
{
	(void)in;
	return svc_unit_destroy_cancel(r->svc, &r->principal, r->tenant, req_param(r, "u"), out,
				       err);
}
