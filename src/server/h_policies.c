/* Handlers: protection policies and restore sessions (docs/api.md).
 * Routes have authorized the request for r->tenant already. */
#include <stdlib.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "server/request.h"
#include "service/views.h"

/* The service audits creations and changes of policies. */
int h_policy_list(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	struct catalog_page pg;
	struct catalog_policy **ps = NULL;
	struct json_object *items;
	size_t n = 0;

	(void)in;
	if (req_page(r, &pg, err) < 0 ||
	    catalog_policy_list(svc_catalog(r->svc), r->tenant, &pg, &ps, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_policy(ps[i]));
	*out = req_list(items, pg.limit, n ? ps[n - 1]->id : NULL);
	CATALOG_LIST_FREE(ps, n, catalog_policy_free);
	return 0;
}

int h_policy_create(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	int ret;

	ret = svc_policy_create(r->svc, &r->principal, r->tenant, in, out, err);
	if (ret == 0)
		r->status = 201;
	return ret;
}

int h_policy_get(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	struct catalog_policy *p = NULL;

	(void)in;
	if (catalog_policy_get(svc_catalog(r->svc), r->tenant, req_param(r, "p"), &p, err) < 0)
		return -1;
	*out = view_policy(p);
	catalog_policy_free(p);
	return 0;
}

int h_policy_update(struct request *r, struct json_object *in, struct json_object **out,
		    struct error *err)
{
	return svc_policy_update(r->svc, &r->principal, r->tenant, req_param(r, "p"), in, out,
				 err);
}

/* ---- restore sessions ---- */

int h_session_list(struct request *r, struct json_object *in, struct json_object **out,
		   struct error *err)
{
	struct catalog_page pg;
	struct catalog_session **ss = NULL;
	struct json_object *items;
	int64_t now = svc_now(r->svc);
	size_t n = 0;

	(void)in;
	if (req_page(r, &pg, err) < 0 ||
	    catalog_session_list(svc_catalog(r->svc), r->tenant, &pg, &ss, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, view_session(ss[i], now));
	*out = req_list(items, pg.limit, n ? ss[n - 1]->id : NULL);
	CATALOG_LIST_FREE(ss, n, catalog_session_free);
	return 0;
}

/* svc_session_create audits the session. */
int h_session_create(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	int ret;

	ret = svc_session_create(r->svc, &r->principal, r->tenant, in, out, err);
	if (ret == 0)
		r->status = 201;
	return ret;
}

int h_session_get(struct request *r, struct json_object *in, struct json_object **out,
		  struct error *err)
{
	struct catalog_session *s = NULL;

	(void)in;
	if (catalog_session_get(svc_catalog(r->svc), r->tenant, req_param(r, "s"), &s, err) < 0)
		return -1;
	*out = view_session(s, svc_now(r->svc));
	catalog_session_free(s);
	return 0;
}
