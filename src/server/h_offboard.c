/* Handlers: a tenant's legal hold, its offboarding and its deletion
 * certificates (docs/api.md, docs/privacy.md 7, 8). The service
 * authorizes, writes and audits. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

/* PUT {"reason":"…"} sets the tenant's legal hold, DELETE releases it. */
int h_tenant_legal_hold_set(struct request *r, struct json_object *in, struct json_object **out,
			    struct error *err)
{
	struct json_object *v;

	if (in == NULL || !json_object_object_get_ex(in, "reason", &v) ||
	    !json_object_is_type(v, json_type_string))
		return error_setk(err, ERROR_USAGE, "'reason' is required (a string)");
	return svc_tenant_legal_hold(r->svc, &r->principal, r->tenant, json_object_get_string(v),
				     out, err);
}

int h_tenant_legal_hold_release(struct request *r, struct json_object *in,
				struct json_object **out, struct error *err)
{
	(void)in;
	return svc_tenant_legal_hold(r->svc, &r->principal, r->tenant, NULL, out, err);
}

int h_tenant_offboard(struct request *r, struct json_object *in, struct json_object **out,
		      struct error *err)
{
	int ret = svc_tenant_offboard(r->svc, &r->principal, r->tenant, in, out, err);

	if (ret == 0)
		r->status = 202; /* carried out when the grace period ends */
	return ret;
}

int h_tenant_offboard_cancel(struct request *r, struct json_object *in,
			     struct json_object **out, struct error *err)
{
	(void)in;
	return svc_tenant_offboard_cancel(r->svc, &r->principal, r->tenant, out, err);
}

int h_certificate_list(struct request *r, struct json_object *in, struct json_object **out,
		       struct error *err)
{
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	return svc_certificate_list(r->svc, &r->principal, r->tenant, &pg, out, err);
}

/* The certificate's file, byte for byte as signed: re-encoding it would
 * break its canonical form (`coffer certificate verify` refuses that). */
int h_certificate_get(struct request *r, struct json_object *in, struct json_object **out,
		      struct error *err)
{
	(void)in;
	(void)out;
	if (svc_certificate_get(r->svc, &r->principal, r->tenant, req_param(r, "c"), &r->text,
				err) < 0)
		return -1;
	r->text_type = "application/json";
	return 0;
}

int h_certificate_key(struct request *r, struct json_object *in, struct json_object **out,
		      struct error *err)
{
	(void)in;
	return svc_certificate_key(r->svc, out, err);
}
