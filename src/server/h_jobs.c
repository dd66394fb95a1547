/* Handlers: jobs (docs/api.md). */
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_job_list(struct request *r, struct json_object *in, struct json_object **out,
	       struct error *err)
{
	struct svc_job_filter f = {
		.unit = req_query(r, "unit"),
		.kind = req_query(r, "kind"),
		.state = req_query(r, "state"),
		.session = req_query(r, "session"),
	};
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	return svc_job_list(r->svc, &r->principal, r->tenant, &f, &pg, out, err);
}
