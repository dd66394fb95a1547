/* Handlers: mail search and export (docs/api.md "Mail search and export").
 * Routes have authorized the request for r->tenant; the service checks the
 * filters, audits and reads. An export answers with a file (the mbox,
 * application/mbox), which http.c sends and closes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

/* The query parameters as a filters object of strings. */
static struct json_object *query_filters(const struct request *r)
{
	struct json_object *f = json_object_new_object();

	for (size_t i = 0; i < r->nquery; i++)
		json_object_object_add(f, r->query[i].name,
				       json_object_new_string(r->query[i].value ? r->query[i].value
									      : ""));
	return f;
}

int h_mail_search(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	struct json_object *f = query_filters(r);
	int ret;

	(void)in;
	ret = svc_mail_search(r->svc, &r->principal, r->tenant, f, out, err);
	json_object_put(f);
	return ret;
}

static void answer_file(struct request *r, const struct svc_export *x)
{
	r->file_fd = x->fd;
	r->file_size = x->size;
	r->text_type = "application/mbox";
}

int h_mail_export_rp(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	struct svc_export x;
	uint32_t seq;

	(void)in;
	*out = NULL;
	if (req_seq(r, &seq, err) < 0)
		return -1;
	if (svc_mail_export_rp(r->svc, &r->principal, r->tenant, req_param(r, "u"), seq,
			       req_query(r, "folder"), req_query(r, "format"), &x, err) < 0)
		return -1;
	answer_file(r, &x);
	return 0;
}

int h_mail_export_search(struct request *r, struct json_object *in, struct json_object **out,
			 struct error *err)
{
	struct svc_export x;
	int ret;

	*out = NULL;
	ret = svc_mail_export_search(r->svc, &r->principal, r->tenant, in, &x, err);
	if (ret == 0)
		answer_file(r, &x);
	return ret;
}
