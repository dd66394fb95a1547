/* Handlers: the audit log of a tenant ({t} in the path) or, on
 * /v1/auditLog, every entry, and its verification (docs/api.md). */
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_audit_list(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	struct svc_audit_filter f = {
		.tenant = req_query(r, "tenant"),
		.action_prefix = req_query(r, "action"),
	};
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0 || req_time(r, "since", &f.since, err) < 0 ||
	    req_time(r, "until", &f.until, err) < 0 || req_order(r, &f.desc, err) < 0)
		return -1;
	return svc_audit_list(r->svc, &r->principal, r->tenant, &f, &pg, out, err);
}

/* A broken chain is an answer, not a failure of the request: 200 with
 * "ok": false and the entry named. */
int h_audit_verify(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	(void)in;
	if (svc_audit_verify(r->svc, &r->principal, r->tenant, out, err) == 0)
		return 0;
	if (err->code != ERROR_CORRUPT)
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "ok", json_object_new_boolean(0));
	json_object_object_add(*out, "error", json_object_new_string(err->msg));
	return 0;
}
