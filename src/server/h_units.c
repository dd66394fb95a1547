/* Handlers: protection units, their restore points, on-demand backups,
 * recommendations, and jobs (docs/api.md). Routes have authorized the
 * request for r->tenant already; every catalog call passes that tenant. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "server/request.h"
#include "service/views.h"

int h_unit_list(struct request *r, struct json_object *in, struct json_object **out,
		struct error *err)
{
	struct catalog_unit_filter f = {
		.kind = req_query(r, "kind"),
		.policy = req_query(r, "policy"),
		.state = req_query(r, "state"),
		.name_prefix = req_query(r, "namePrefix"),
	};
	struct catalog_page pg;
	struct catalog_unit **us = NULL;
	struct json_object *items;
	size_t n = 0;

	(void)in;
	if (req_page(r, &pg, err) < 0 ||
	    catalog_unit_list(svc_catalog(r->svc), r->tenant, &f, &pg, &us, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_unit(us[i]));
	*out = req_list(items, pg.limit, n ? us[n - 1]->id : NULL);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	return 0;
}

/* The service audits creations, backups on demand and forgetting. */
int h_unit_create(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	int ret;

	ret = svc_unit_create(r->svc, &r->principal, r->tenant, in, out, err);
	if (ret == 0)
		r->status = 201;
	return ret;
}

int h_unit_get(struct request *r, struct json_object *in, struct json_object **out,
	       struct error *err)
{
	struct catalog_unit *u = NULL;

	(void)in;
	if (catalog_unit_get(svc_catalog(r->svc), r->tenant, req_param(r, "u"), &u, err) < 0)
		return -1;
	*out = view_unit(u);
	catalog_unit_free(u);
	return 0;
}

int h_unit_backup(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	const char *unit = req_param(r, "u");

	(void)in;
	if (svc_backup_now(r->svc, &r->principal, r->tenant, unit, out, err) < 0)
		return -1;
	r->status = 202;
	return 0;
}

int h_unit_recommend(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	(void)in;
	return svc_recommend(r->svc, &r->principal, r->tenant, req_param(r, "u"), out, err);
}

/* ---- restore points ---- */

int h_rp_list(struct request *r, struct json_object *in, struct json_object **out,
	      struct error *err)
{
	const char *unit = req_param(r, "u"), *forgotten = req_query(r, "includeForgotten");
	struct catalog_rp_filter f = { 0 };
	struct catalog_page pg;
	struct catalog_rp **rps = NULL;
	struct catalog_unit *u = NULL;
	struct json_object *items;
	int64_t since, until;
	char cursor[16] = "";
	size_t n = 0;

	(void)in;
	if (req_page(r, &pg, err) < 0 || req_time(r, "since", &since, err) < 0 ||
	    req_time(r, "until", &until, err) < 0)
		return -1;
	/* since and until are inclusive, in seconds; the filter is exclusive, in ns. */
	f.after_ns = since ? since * 1000000000 - 1 : 0;
	f.before_ns = until ? (until + 1) * 1000000000 : 0;
	f.include_forgotten = forgotten && (strcmp(forgotten, "true") == 0 ||
					    strcmp(forgotten, "1") == 0);
	/* An unknown unit is 404, not an empty list. */
	if (catalog_unit_get(svc_catalog(r->svc), r->tenant, unit, &u, err) < 0)
		return -1;
	catalog_unit_free(u);
	if (catalog_rp_list(svc_catalog(r->svc), r->tenant, unit, &f, &pg, &rps, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_rp(rps[i]));
	if (n)
		snprintf(cursor, sizeof(cursor), "%" PRIu32, rps[n - 1]->seq);
	*out = req_list(items, pg.limit, n ? cursor : NULL);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	return 0;
}

int h_rp_get(struct request *r, struct json_object *in, struct json_object **out,
	     struct error *err)
{
	struct catalog_rp *rp = NULL;
	uint32_t seq;

	(void)in;
	if (req_seq(r, &seq, err) < 0 ||
	    catalog_rp_get(svc_catalog(r->svc), r->tenant, req_param(r, "u"), seq, &rp, err) < 0)
		return -1;
	*out = view_rp(rp);
	catalog_rp_free(rp);
	return 0;
}

int h_rp_forget(struct request *r, struct json_object *in, struct json_object **out,
		struct error *err)
{
	uint32_t seq;

	(void)in;
	if (req_seq(r, &seq, err) < 0 ||
	    svc_rp_forget(r->svc, &r->principal, r->tenant, req_param(r, "u"), seq, out, err) < 0)
		return -1;
	r->status = 202;
	return 0;
}

/* Content: svc_rp_items audits the read. */
int h_rp_items(struct request *r, struct json_object *in, struct json_object **out,
	       struct error *err)
{
	const char *path = req_query(r, "path");
	uint32_t seq;

	(void)in;
	if (req_seq(r, &seq, err) < 0)
		return -1;
	return svc_rp_items(r->svc, &r->principal, r->tenant, req_param(r, "u"), seq,
			    path && path[0] ? path : "/", out, err);
}

/* ---- jobs ---- */

int h_job_list(struct request *r, struct json_object *in, struct json_object **out,
	       struct error *err)
{
	struct catalog_job_filter f = {
		.tenant = r->tenant,
		.unit = req_query(r, "unit"),
		.kind = req_query(r, "kind"),
		.state = req_query(r, "state"),
		.session = req_query(r, "session"),
	};
	struct catalog_page pg;
	struct catalog_job **js = NULL;
	struct json_object *items;
	char cursor[32] = "";
	size_t n = 0;

	(void)in;
	if (req_page(r, &pg, err) < 0 ||
	    catalog_job_list(svc_catalog(r->svc), &f, &pg, &js, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_job(js[i]));
	if (n)
		snprintf(cursor, sizeof(cursor), "%" PRId64, js[n - 1]->id);
	*out = req_list(items, pg.limit, n ? cursor : NULL);
	CATALOG_LIST_FREE(js, n, catalog_job_free);
	return 0;
}
