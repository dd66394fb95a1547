/* Handlers: mail search and export (docs/api.md "Mail search and export").
 * Routes have authorized the request for r->tenant; the service checks the
 * filters, audits and reads. An export answers with a file (the mbox,
 * application/mbox), which http.c sends and closes. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/buf.h"
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

void req_answer_mbox(struct request *r, struct svc_export *x)
{
	struct json_object *by = x->withheld_by ? json_tokener_parse(x->withheld_by) : NULL;
	struct buf h;

	r->file_fd = x->fd;
	r->file_size = x->size;
	r->text_type = "application/mbox";
	if (x->withheld > 0) {
		buf_init(&h, 0);
		buf_addf(&h, "%" PRIu64, x->withheld);
		for (size_t i = 0; by && i < json_object_array_length(by); i++) {
			struct json_object *o = json_object_array_get_idx(by, i);

			buf_addf(&h, " %s=%s", json_object_get_string(json_object_object_get(o, "request")),
				 json_object_get_string(json_object_object_get(o, "items")));
		}
		buf_add(&h, "", 1);
		r->file_withheld = (char *)h.data;
	}
	json_object_put(by);
	free(x->withheld_by);
	x->withheld_by = NULL;
}

int h_mail_export_rp(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	struct svc_export x = { .fd = -1 };
	uint32_t seq;

	(void)in;
	*out = NULL;
	if (req_seq(r, &seq, err) < 0)
		return -1;
	if (svc_mail_export_rp(r->svc, &r->principal, r->tenant, req_param(r, "u"), seq,
			       req_query(r, "folder"), req_query(r, "format"), &x, err) < 0)
		return -1;
	req_answer_mbox(r, &x);
	return 0;
}

int h_mail_export_search(struct request *r, struct json_object *in, struct json_object **out,
			 struct error *err)
{
	struct svc_export x = { .fd = -1 };
	int ret;

	*out = NULL;
	ret = svc_mail_export_search(r->svc, &r->principal, r->tenant, in, &x, err);
	if (ret == 0)
		req_answer_mbox(r, &x);
	return ret;
}
