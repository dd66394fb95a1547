/* Handlers: data-subject requests (docs/api.md "Data-subject requests"):
 * the subject export answers with a file (the mbox, application/mbox),
 * which http.c sends and closes; the access report with JSON. Routes have
 * authorized the request for r->tenant (privacy); the service checks the
 * input, audits and reads. */
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_subject_export(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	struct svc_export x = { .fd = -1 };

	*out = NULL;
	if (svc_subject_export(r->svc, &r->principal, r->tenant, in, &x, err) < 0)
		return -1;
	req_answer_mbox(r, &x);
	return 0;
}

int h_access_report(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	struct svc_access_query q = {
		.unit = req_query(r, "unit"),
		.address = req_query(r, "address"),
	};
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0 || req_time(r, "since", &q.since, err) < 0 ||
	    req_time(r, "until", &q.until, err) < 0)
		return -1;
	return svc_access_report(r->svc, &r->principal, r->tenant, &q, &pg, out, err);
}
