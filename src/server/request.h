#ifndef COFFER_SERVER_REQUEST_H
#define COFFER_SERVER_REQUEST_H

/* Inside the server: one request as the routes and handlers see it, free
 * of libmicrohttpd (http.c fills it), and the route table (routes.c).
 *
 * A request goes: http.c reads the headers -> routes_begin() finds the
 * route, authenticates and authorizes (401/403/404/405/413/415 are
 * answered before the body is read) -> http.c reads the body up to
 * max_body -> routes_finish() parses and checks the JSON and calls the
 * handler. */

#include <stddef.h>
#include <stdint.h>

#include "service/service.h"

struct error;
struct json_object;
struct buf;

#define REQ_MAX_QUERY 16
#define REQ_MAX_PARAMS 4

struct route;

struct request {
	struct service *svc;
	const char *method, *path;       /* path without the query */
	const char *authorization;       /* the Authorization header or NULL */
	const char *content_type;        /* or NULL */
	int64_t content_length;          /* -1: not given */
	int loopback;                    /* the server listens on loopback only */
	struct { const char *name, *value; } query[REQ_MAX_QUERY];
	size_t nquery;
	int query_overflow;

	/* Set by routes_begin(). */
	const struct route *route;
	struct { char name[8]; char *value; } params[REQ_MAX_PARAMS];
	size_t nparams;
	struct svc_principal principal;
	int authenticated;
	const char *tenant;              /* {t} of the path, or NULL */

	/* Set by the handler: the status (default 200; 201, 202...) and, for
	 * non-JSON answers (/metrics), a text body and its type. */
	int status;
	char *text;
	const char *text_type;
	const char *allow;               /* 405: the methods the path has */
	/* A file answer (mail export): an open file of file_size bytes sent
	 * with text_type and closed by the server; -1 when none. */
	int file_fd;
	uint64_t file_size;
	/* With a file: what the erasure ledger withheld from it, sent as
	 * X-Coffer-Withheld ("N" or "N e-1=3 e-2=1"); NULL: nothing. */
	char *file_withheld;
};

/* A handler: fills *out (a JSON object) or returns -1 with err->code as in
 * service.h (ERROR_USAGE 400, ERROR_NOTFOUND 404, ERROR_EXISTS 409,
 * SVC_DENIED 403, others 500). `in` is the checked body: an empty object
 * when a route that takes one got none, NULL on routes that take none. */
typedef int route_fn(struct request *r, struct json_object *in, struct json_object **out,
		     struct error *err);

/* Permissions beyond enum svc_perm. */
enum {
	ROUTE_PUBLIC = 100,  /* no token (health) */
	ROUTE_ANY,           /* any valid token (whoami) */
	ROUTE_METRICS,       /* any valid token; none needed when listening on loopback */
};

struct route {
	const char *method;
	const char *pattern;            /* "/v1/tenants/{t}/protectionUnits/{u}" */
	int perm;                       /* enum svc_perm or ROUTE_* */
	route_fn *fn;
	const char *const *fields;      /* body fields allowed; NULL: no body */
	const char *const *query;       /* query parameters allowed besides limit, after */
};

/* Resets r's route part; call once before routes_begin(). */
void request_init(struct request *r);
void request_clear(struct request *r);

/* 0: go on and read the body. Otherwise an HTTP status with *out the
 * error JSON to send now. */
int routes_begin(struct request *r, size_t max_body, struct json_object **out);
/* Runs the route on the whole body; returns the status, *out the JSON (or
 * r->text for text answers). */
int routes_finish(struct request *r, const char *body, size_t len, struct json_object **out);
/* {"error":{"code":...,"message":...}} for an HTTP status. */
struct json_object *routes_error(int status, const char *message);

/* ---- helpers for handlers (routes.c) ---- */
/* A path parameter ("u", "p", "s", "k", "seq"). */
const char *req_param(const struct request *r, const char *name);
/* A query parameter or NULL. */
const char *req_query(const struct request *r, const char *name);
/* ?limit= and ?after= as a page of a service list (default 100 from the
 * start); ERROR_USAGE for a bad limit. */
int req_page(const struct request *r, struct svc_page *pg, struct error *err);
/* ?name= as Unix seconds (RFC 3339 "2026-01-02T03:04:05Z" or digits); 0
 * when absent. */
int req_time(const struct request *r, const char *name, int64_t *t_r, struct error *err);
/* ?order=asc|desc: *desc_r 1 for newest first; 0 when absent;
 * ERROR_USAGE for anything else. */
int req_order(const struct request *r, int *desc_r, struct error *err);
/* A path parameter that is a restore point number. */
int req_seq(const struct request *r, uint32_t *seq_r, struct error *err);
/* A string field of the body (or NULL); ERROR_USAGE if present but not a
 * string. */
int req_str(struct json_object *in, const char *field, const char **v_r, struct error *err);
/* h_mail.c: answers with the mbox file x (taken) and what the erasure
 * ledger withheld from it as X-Coffer-Withheld ("N", then "REQUEST=N" per
 * request); frees x->withheld_by. */
void req_answer_mbox(struct request *r, struct svc_export *x);

/* Handlers, by resource: h_health.c (health, whoami, metrics),
 * h_tenants.c, h_tokens.c, h_units.c (units and their restore points),
 * h_policies.c, h_sessions.c, h_jobs.c, h_audit.c, h_mail.c. Each turns
 * the request into a call of service.h, which authorizes it again and
 * answers the JSON; none reaches below the service. */
route_fn h_health, h_whoami, h_metrics;
route_fn h_tenant_list, h_tenant_create, h_tenant_get, h_tenant_update;
route_fn h_tenant_legal_hold_set, h_tenant_legal_hold_release, h_tenant_offboard,
	h_tenant_offboard_cancel, h_certificate_list, h_certificate_get, h_certificate_key;
route_fn h_token_list, h_token_create, h_token_revoke;
route_fn h_unit_list, h_unit_create, h_unit_get, h_unit_backup, h_unit_recommend, h_overview;
route_fn h_unit_drill_list, h_unit_drill_now; /* restore drills */
route_fn h_unit_legal_hold_set, h_unit_legal_hold_release;
route_fn h_unit_destroy, h_unit_destroy_cancel; /* h_destroy.c */
route_fn h_rp_list, h_rp_get, h_rp_forget, h_rp_items, h_rp_message, h_rp_diff,
	h_unit_find;
route_fn h_policy_list, h_policy_create, h_policy_get, h_policy_update;
route_fn h_session_list, h_session_create, h_session_get;
route_fn h_job_list;
route_fn h_audit_list, h_audit_verify;
route_fn h_mail_search, h_mail_export_rp, h_mail_export_search;
route_fn h_subject_export, h_access_report; /* h_subject.c */
route_fn h_erasure_list, h_erasure_create, h_erasure_get, h_erasure_approve,
	h_erasure_reject; /* h_erasures.c */

#endif
