/* Handlers: protection units, their restore points, on-demand backups and
 * recommendations (docs/api.md). The service authorizes each call for
 * r->tenant and reads with that tenant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "lib/parse.h"
#include "server/request.h"

int h_unit_list(struct request *r, struct json_object *in, struct json_object **out,
		struct error *err)
{
	struct svc_unit_filter f = {
		.kind = req_query(r, "kind"),
		.policy = req_query(r, "policy"),
		.state = req_query(r, "state"),
		.name_prefix = req_query(r, "namePrefix"),
	};
	const char *gone = req_query(r, "sourceGone");
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	if (gone != NULL) { /* docs/privacy.md 6 */
		if (strcmp(gone, "true") != 0 && strcmp(gone, "false") != 0)
			return error_setk(err, ERROR_USAGE, "sourceGone must be true or false");
		f.source_gone = strcmp(gone, "true") == 0 ? 1 : -1;
	}
	return svc_unit_list(r->svc, &r->principal, r->tenant, &f, &pg, out, err);
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
	(void)in;
	return svc_unit_get(r->svc, &r->principal, r->tenant, req_param(r, "u"), out, err);
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

/* Restore drills: a drill on demand (the service audits it) and the
 * unit's drills, newest first. */
int h_unit_drill_now(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	(void)in;
	if (svc_drill_now(r->svc, &r->principal, r->tenant, req_param(r, "u"), out, err) < 0)
		return -1;
	r->status = 202;
	return 0;
}

int h_unit_drill_list(struct request *r, struct json_object *in, struct json_object **out,
		      struct error *err)
{
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0)
		return -1;
	return svc_drill_list(r->svc, &r->principal, r->tenant, req_param(r, "u"), &pg, out, err);
}

int h_unit_recommend(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err)
{
	(void)in;
	return svc_recommend(r->svc, &r->principal, r->tenant, req_param(r, "u"), out, err);
}

int h_overview(struct request *r, struct json_object *in, struct json_object **out,
	       struct error *err)
{
	(void)in;
	return svc_overview(r->svc, &r->principal, r->tenant, out, err);
}

/* PUT {"reason":"…"} sets the unit's legal hold, DELETE releases it; the
 * service audits both. */
int h_unit_legal_hold_set(struct request *r, struct json_object *in, struct json_object **out,
			  struct error *err)
{
	struct json_object *v;

	if (in == NULL || !json_object_object_get_ex(in, "reason", &v) ||
	    !json_object_is_type(v, json_type_string))
		return error_setk(err, ERROR_USAGE, "'reason' is required (a string)");
	return svc_unit_legal_hold(r->svc, &r->principal, r->tenant, req_param(r, "u"),
				   json_object_get_string(v), out, err);
}

int h_unit_legal_hold_release(struct request *r, struct json_object *in,
			      struct json_object **out, struct error *err)
{
	(void)in;
	return svc_unit_legal_hold(r->svc, &r->principal, r->tenant, req_param(r, "u"), NULL, out,
				   err);
}

/* ---- restore points ---- */

int h_rp_list(struct request *r, struct json_object *in, struct json_object **out,
	      struct error *err)
{
	const char *forgotten = req_query(r, "includeForgotten");
	struct svc_rp_filter f = { 0 };
	struct svc_page pg;

	(void)in;
	if (req_page(r, &pg, err) < 0 || req_time(r, "since", &f.since, err) < 0 ||
	    req_time(r, "until", &f.until, err) < 0)
		return -1;
	f.include_forgotten = forgotten && (strcmp(forgotten, "true") == 0 ||
					    strcmp(forgotten, "1") == 0);
	if (req_order(r, &f.desc, err) < 0)
		return -1;
	return svc_rp_list(r->svc, &r->principal, r->tenant, req_param(r, "u"), &f, &pg, out,
			   err);
}

int h_rp_get(struct request *r, struct json_object *in, struct json_object **out,
	     struct error *err)
{
	uint32_t seq;

	(void)in;
	if (req_seq(r, &seq, err) < 0)
		return -1;
	return svc_rp_get(r->svc, &r->principal, r->tenant, req_param(r, "u"), seq, out, err);
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
int h_unit_find(struct request *r, struct json_object *in, struct json_object **out,
		struct error *err)
{
	const char *ic = req_query(r, "ignoreCase");

	(void)in;
	if (ic && strcmp(ic, "true") != 0 && strcmp(ic, "false") != 0)
		return error_setk(err, ERROR_USAGE, "ignoreCase: '%s' is not true or false", ic);
	return svc_unit_find(r->svc, &r->principal, r->tenant, req_param(r, "u"),
			     req_query(r, "name"), ic && strcmp(ic, "true") == 0, out, err);
}

int h_rp_message(struct request *r, struct json_object *in, struct json_object **out,
		 struct error *err)
{
	uint32_t seq;

	(void)in;
	if (req_seq(r, &seq, err) < 0)
		return -1;
	return svc_rp_message(r->svc, &r->principal, r->tenant, req_param(r, "u"), seq,
			      req_query(r, "path"), out, err);
}

int h_rp_diff(struct request *r, struct json_object *in, struct json_object **out,
	      struct error *err)
{
	const char *against = req_query(r, "against");
	struct svc_page pg;
	int64_t a = 0;
	uint32_t seq;

	(void)in;
	if (req_seq(r, &seq, err) < 0 || req_page(r, &pg, err) < 0)
		return -1;
	if (against != NULL && parse_int_field("against", against, 1, UINT32_MAX, &a, err) < 0)
		return -1;
	return svc_rp_diff(r->svc, &r->principal, r->tenant, req_param(r, "u"), seq, (uint32_t)a,
			   &pg, out, err);
}

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
