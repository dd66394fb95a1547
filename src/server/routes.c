/* The route table of the API (docs/api.md) and what every request goes
 * through before its handler: route lookup, authentication, authorization
 * against the path's tenant, body checks. Handlers never compare roles or
 * tenants themselves: svc_authorize() does, here as a first gate before the
 * body is read, and again in the service function each handler calls. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/timeutil.h"
#include "lib/utf8.h"
#include "server/request.h"

#define F(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

static const char *const tenant_fields[] = { "name", "location", NULL };
/* "location" is the service's to refuse, saying why (it is fixed). */
static const char *const tenant_update_fields[] = { "minRetentionDays", "location",
	"offboardGraceDays", "destroyDelayDays", "erasureFourEyes", NULL }; /* docs/privacy.md 7 */
static const char *const token_fields[] = { "name", "role", "breakGlass", NULL };
static const char *const global_token_fields[] = { "name", "role", "tenant", NULL };
static const char *const unit_fields[] = { "name", "kind", "source", NULL };
static const char *const policy_fields[] = { "name", "kind", "units", "rules",
	"frequencySeconds", "recentDays", "retentionDays", "state", "drill", NULL };
static const char *const policy_update_fields[] = { "name", "units", "rules",
	"frequencySeconds", "recentDays", "retentionDays", "state", "drill", NULL };
static const char *const session_fields[] = { "items", "dryRun", NULL };
static const char *const mail_export_fields[] = { "unit", "from", "to", "subject", "body",
	"since", "until", "folder", "hasAttachment", "restorePoint", "format", "address", NULL };

#define T "/v1/tenants/{t}"
#define U T "/protectionUnits/{u}"

static const struct route routes[] = {
	{ "GET", "/v1/health", ROUTE_PUBLIC, h_health, NULL, NULL },
	{ "GET", "/metrics", ROUTE_METRICS, h_metrics, NULL, NULL },
	{ "GET", "/v1/whoami", ROUTE_ANY, h_whoami, NULL, NULL },

	{ "GET", "/v1/tenants", SVC_PERM_TENANTS_MANAGE, h_tenant_list, NULL, NULL },
	{ "POST", "/v1/tenants", SVC_PERM_TENANTS_MANAGE, h_tenant_create, tenant_fields, NULL },
	{ "GET", T, SVC_PERM_TENANTS_MANAGE, h_tenant_get, NULL, NULL },
	{ "PATCH", T, SVC_PERM_TENANT_SETTINGS, h_tenant_update, tenant_update_fields, NULL },
	/* docs/privacy.md 7, 8 (h_offboard.c) */
	{ "PUT", T "/legalHold", SVC_PERM_TENANTS_MANAGE, h_tenant_legal_hold_set, F("reason"),
	  NULL },
	{ "DELETE", T "/legalHold", SVC_PERM_TENANTS_MANAGE, h_tenant_legal_hold_release, NULL,
	  NULL },
	{ "POST", T "/offboard", SVC_PERM_TENANT_SETTINGS, h_tenant_offboard, F("confirm"), NULL },
	{ "DELETE", T "/offboard", SVC_PERM_TENANT_SETTINGS, h_tenant_offboard_cancel, NULL,
	  NULL },
	{ "GET", T "/deletionCertificates", SVC_PERM_TENANTS_MANAGE, h_certificate_list, NULL,
	  NULL },
	{ "GET", T "/deletionCertificates/{c}", SVC_PERM_TENANTS_MANAGE, h_certificate_get, NULL,
	  NULL },
	{ "GET", "/v1/certificateKey", ROUTE_PUBLIC, h_certificate_key, NULL, NULL },
	{ "GET", T "/tokens", SVC_PERM_TENANTS_MANAGE, h_token_list, NULL, NULL },
	{ "POST", T "/tokens", SVC_PERM_TENANTS_MANAGE, h_token_create, token_fields, NULL },
	{ "DELETE", T "/tokens/{k}", SVC_PERM_TENANTS_MANAGE, h_token_revoke, NULL, NULL },
	{ "GET", "/v1/tokens", SVC_PERM_TENANTS_MANAGE, h_token_list, NULL, NULL },
	{ "POST", "/v1/tokens", SVC_PERM_TENANTS_MANAGE, h_token_create, global_token_fields,
	  NULL },
	{ "DELETE", "/v1/tokens/{k}", SVC_PERM_TENANTS_MANAGE, h_token_revoke, NULL, NULL },

	{ "GET", T "/overview", SVC_PERM_STATUS_READ, h_overview, NULL, NULL },
	{ "GET", T "/protectionUnits", SVC_PERM_STATUS_READ, h_unit_list, NULL,
	  F("kind", "policy", "state", "namePrefix", "sourceGone") },
	{ "POST", T "/protectionUnits", SVC_PERM_UNIT_CREATE, h_unit_create, unit_fields, NULL },
	{ "GET", U, SVC_PERM_STATUS_READ, h_unit_get, NULL, NULL },
	{ "POST", U "/backup", SVC_PERM_CONFIG_WRITE, h_unit_backup, NONE, NULL },
	/* restore drills (docs/service.md "Restore drills") */
	{ "GET", U "/drills", SVC_PERM_STATUS_READ, h_unit_drill_list, NULL, NULL },
	{ "POST", U "/drills", SVC_PERM_RESTORE, h_unit_drill_now, NONE, NULL },
	{ "GET", U "/recommendedRestorePoints", SVC_PERM_STATUS_READ, h_unit_recommend, NULL,
	  NULL },
	{ "PUT", U "/legalHold", SVC_PERM_CONFIG_WRITE, h_unit_legal_hold_set, F("reason"), NULL },
	{ "DELETE", U "/legalHold", SVC_PERM_CONFIG_WRITE, h_unit_legal_hold_release, NULL,
	  NULL },
	/* docs/privacy.md 5 (h_destroy.c) */
	{ "POST", U "/destroy", SVC_PERM_CONFIG_WRITE, h_unit_destroy, F("confirm"), NULL },
	{ "DELETE", U "/destroy", SVC_PERM_CONFIG_WRITE, h_unit_destroy_cancel, NULL, NULL },
	{ "GET", U "/restorePoints", SVC_PERM_STATUS_READ, h_rp_list, NULL,
	  F("since", "until", "includeForgotten", "order") },
	{ "GET", U "/restorePoints/{seq}", SVC_PERM_STATUS_READ, h_rp_get, NULL, NULL },
	{ "DELETE", U "/restorePoints/{seq}", SVC_PERM_CONFIG_WRITE, h_rp_forget, NULL, NULL },
	{ "GET", U "/find", SVC_PERM_CONTENT_READ, h_unit_find, NULL, F("name", "ignoreCase") },
	{ "GET", U "/restorePoints/{seq}/items", SVC_PERM_CONTENT_READ, h_rp_items, NULL,
	  F("path") },
	{ "GET", U "/restorePoints/{seq}/message", SVC_PERM_CONTENT_READ, h_rp_message, NULL,
	  F("path") },
	{ "GET", U "/restorePoints/{seq}/diff", SVC_PERM_CONTENT_READ, h_rp_diff, NULL,
	  F("against") },

	{ "GET", T "/protectionPolicies", SVC_PERM_STATUS_READ, h_policy_list, NULL, NULL },
	{ "POST", T "/protectionPolicies", SVC_PERM_CONFIG_WRITE, h_policy_create, policy_fields,
	  NULL },
	{ "GET", T "/protectionPolicies/{p}", SVC_PERM_STATUS_READ, h_policy_get, NULL, NULL },
	{ "PATCH", T "/protectionPolicies/{p}", SVC_PERM_CONFIG_WRITE, h_policy_update,
	  policy_update_fields, NULL },

	{ "GET", T "/restoreSessions", SVC_PERM_STATUS_READ, h_session_list, NULL, F("order") },
	{ "POST", T "/restoreSessions", SVC_PERM_RESTORE, h_session_create, session_fields, NULL },
	{ "GET", T "/restoreSessions/{s}", SVC_PERM_STATUS_READ, h_session_get, NULL, NULL },

	{ "GET", T "/jobs", SVC_PERM_STATUS_READ, h_job_list, NULL,
	  F("unit", "kind", "state", "session") },

	{ "GET", T "/search", SVC_PERM_CONTENT_READ, h_mail_search, NULL,
	  F("unit", "from", "to", "subject", "body", "since", "until", "folder", "hasAttachment",
	    "restorePoint", "address") },
	{ "POST", T "/search/export", SVC_PERM_CONTENT_READ, h_mail_export_search,
	  mail_export_fields, NULL },
	{ "GET", U "/restorePoints/{seq}/export", SVC_PERM_CONTENT_READ, h_mail_export_rp, NULL,
	  F("format", "folder") },
	{ "POST", T "/subjectExport", SVC_PERM_PRIVACY, h_subject_export, F("address", "format"),
	  NULL },
	{ "GET", T "/accessReport", SVC_PERM_PRIVACY, h_access_report, NULL,
	  F("unit", "address", "since", "until") },

	{ "GET", T "/erasureRequests", SVC_PERM_PRIVACY, h_erasure_list, NULL, F("state") },
	{ "POST", T "/erasureRequests", SVC_PERM_PRIVACY, h_erasure_create,
	  F("kind", "addresses", "filters", "unit", "paths", "reason"), NULL },
	{ "GET", T "/erasureRequests/{e}", SVC_PERM_PRIVACY, h_erasure_get, NULL, NULL },
	{ "POST", T "/erasureRequests/{e}/approve", SVC_PERM_PRIVACY, h_erasure_approve, NONE,
	  NULL },
	{ "POST", T "/erasureRequests/{e}/reject", SVC_PERM_PRIVACY, h_erasure_reject, NONE,
	  NULL },

	{ "GET", T "/auditLog", SVC_PERM_AUDIT_READ, h_audit_list, NULL,
	  F("action", "since", "until", "order") },
	{ "GET", T "/auditLog/verify", SVC_PERM_AUDIT_READ, h_audit_verify, NULL, NULL },
	{ "GET", "/v1/auditLog", SVC_PERM_AUDIT_READ, h_audit_list, NULL,
	  F("tenant", "action", "since", "until", "order") },
	{ "GET", "/v1/auditLog/verify", SVC_PERM_AUDIT_READ, h_audit_verify, NULL, NULL },
};

void request_init(struct request *r)
{
	r->route = NULL;
	r->nparams = 0;
	memset(&r->principal, 0, sizeof(r->principal));
	r->authenticated = 0;
	r->tenant = NULL;
	r->status = 200;
	r->text = NULL;
	r->text_type = NULL;
	r->allow = NULL;
	r->file_fd = -1;
	r->file_size = 0;
	r->file_withheld = NULL;
}

static void params_clear(struct request *r)
{
	for (size_t i = 0; i < r->nparams; i++)
		free(r->params[i].value);
	r->nparams = 0;
}

void request_clear(struct request *r)
{
	params_clear(r);
	svc_principal_clear(&r->principal);
	free(r->text);
	r->text = NULL;
	if (r->file_fd >= 0)
		close(r->file_fd);
	r->file_fd = -1;
	free(r->file_withheld);
	r->file_withheld = NULL;
}

/* ---- matching ---- */

/* Does path match pattern? Captures {name} segments into r->params. */
static int match(struct request *r, const char *pattern, const char *path)
{
	const char *p = pattern, *q = path;

	params_clear(r);
	while (*p && *q) {
		if (*p == '{') {
			const char *pe = strchr(p, '}'), *qe = strchr(q, '/');
			size_t nl = (size_t)(pe - p - 1), vl = qe ? (size_t)(qe - q) : strlen(q);

			if (vl == 0 || r->nparams == REQ_MAX_PARAMS || nl >= sizeof(r->params[0].name))
				return 0;
			memcpy(r->params[r->nparams].name, p + 1, nl);
			r->params[r->nparams].name[nl] = '\0';
			r->params[r->nparams++].value = xstrndup(q, vl);
			p = pe + 1;
			q += vl;
		} else if (*p++ != *q++) {
			return 0;
		}
	}
	return *p == '\0' && *q == '\0';
}

/* Finds the route; 404 for an unknown path, 405 (with r->allow) for a
 * known path and another method. */
static int find_route(struct request *r)
{
	size_t i, n = sizeof(routes) / sizeof(routes[0]);
	int path_known = 0;
	char methods[64] = "";

	for (i = 0; i < n; i++) {
		if (!match(r, routes[i].pattern, r->path))
			continue;
		if (strcmp(routes[i].method, r->method) == 0) {
			r->route = &routes[i];
			r->tenant = req_param(r, "t");
			return 0;
		}
		path_known = 1;
		if (strlen(methods) + strlen(routes[i].method) + 3 < sizeof(methods)) {
			if (methods[0])
				strncat(methods, ", ", sizeof(methods) - strlen(methods) - 1);
			strncat(methods, routes[i].method, sizeof(methods) - strlen(methods) - 1);
		}
	}
	params_clear(r);
	if (!path_known)
		return 404;
	r->text = xstrdup(methods); /* the Allow header, freed with the request */
	return 405;
}

/* ---- errors ---- */

static const char *status_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthenticated";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 408: return "request_timeout";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	default: return "internal";
	}
}

struct json_object *routes_error(int status, const char *message)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(status_code(status)));
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(o, "error", e);
	return o;
}

static int error_status(const struct error *err)
{
	switch (err->code) {
	case ERROR_USAGE: return 400;
	case ERROR_KEY: return 401;
	case SVC_DENIED: return 403;
	case ERROR_NOTFOUND: return 404;
	case ERROR_EXISTS: return 409;
	case ERROR_CONFLICT: return 409; /* decided already, being offboarded */
	default: return 500;
	}
}

/* ---- before the body ---- */

static const char *bearer(const char *h)
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

static int authenticate(struct request *r, struct json_object **out)
{
	struct error err;
	const char *secret = bearer(r->authorization);

	error_init(&err);
	if (secret == NULL) {
		*out = routes_error(401, r->authorization
				    ? "unauthenticated: the Authorization header must be "
				      "\"Bearer TOKEN\""
				    : "unauthenticated: an API token is needed "
				      "(Authorization: Bearer TOKEN)");
		return 401;
	}
	if (svc_authenticate(r->svc, secret, &r->principal, &err) < 0) {
		int status = err.code == ERROR_KEY ? 401 : 500;

		*out = routes_error(status, err.msg);
		return status;
	}
	r->authenticated = 1;
	return 0;
}

static int authorize(struct request *r, struct json_object **out)
{
	const struct route *rt = r->route;
	struct error err;
	int status;

	if (rt->perm == ROUTE_PUBLIC)
		return 0;
	if (rt->perm == ROUTE_METRICS && r->loopback && r->authorization == NULL)
		return 0;
	if ((status = authenticate(r, out)) != 0)
		return status;
	if (rt->perm == ROUTE_ANY || rt->perm == ROUTE_METRICS)
		return 0;
	error_init(&err);
	if (svc_authorize(&r->principal, r->tenant, (enum svc_perm)rt->perm, &err) < 0) {
		*out = routes_error(403, err.msg);
		return 403;
	}
	return 0;
}

static int check_query(struct request *r, struct json_object **out)
{
	const char *const *q;
	char msg[256];

	if (r->query_overflow) {
		*out = routes_error(400, "too many query parameters");
		return 400;
	}
	for (size_t i = 0; i < r->nquery; i++) {
		const char *name = r->query[i].name;

		if (strcmp(name, "limit") == 0 || strcmp(name, "after") == 0)
			continue;
		for (q = r->route->query; q && *q; q++)
			if (strcmp(*q, name) == 0)
				break;
		if (q == NULL || *q == NULL) {
			snprintf(msg, sizeof(msg), "unknown query parameter \"%.64s\" for %s %s", name,
				 r->route->method, r->route->pattern);
			*out = routes_error(400, msg);
			return 400;
		}
	}
	return 0;
}

static int is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int routes_begin(struct request *r, size_t max_body, struct json_object **out)
{
	char msg[256];
	int status;

	*out = NULL;
	status = find_route(r);
	if (status == 404) {
		snprintf(msg, sizeof(msg), "no such resource: %.200s", r->path);
		*out = routes_error(404, msg);
		return 404;
	}
	if (status == 405) {
		snprintf(msg, sizeof(msg), "method %.16s not allowed on %.160s (allowed: %s)",
			 r->method, r->path, r->text);
		*out = routes_error(405, msg);
		r->allow = r->text; /* freed with the request */
		return 405;
	}
	if ((status = authorize(r, out)) != 0)
		return status;
	if ((status = check_query(r, out)) != 0)
		return status;
	if (r->content_length > 0 && r->route->fields == NULL) {
		snprintf(msg, sizeof(msg), "%s %s takes no request body", r->route->method,
			 r->route->pattern);
		*out = routes_error(400, msg);
		return 400;
	}
	if (r->content_length > 0 && !is_json_type(r->content_type)) {
		snprintf(msg, sizeof(msg), "the request body must be application/json (got %.64s)",
			 r->content_type ? r->content_type : "no Content-Type");
		*out = routes_error(415, msg);
		return 415;
	}
	if (r->content_length > 0 && (uint64_t)r->content_length > max_body) {
		snprintf(msg, sizeof(msg), "the request body is %" PRId64 " bytes, more than the "
			 "limit of %zu", r->content_length, max_body);
		*out = routes_error(413, msg);
		return 413;
	}
	return 0;
}

/* ---- the body ---- */

/* The \uXXXX escape at s[0..len) (s points at the 'u'), or -1. */
static long json_u_escape(const char *s, size_t len)
{
	long v = 0;

	if (len < 5 || s[0] != 'u')
		return -1;
	for (size_t i = 1; i < 5; i++) {
		int c = s[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
				  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Escapes in the strings of the JSON text that do not stand for a UTF-8
 * character: NULL if none, else what is wrong. \u0000: json-c keeps the
 * NUL inside string values but cuts object names at it, so a name could
 * be checked as one field and stored as another, and every C string that
 * carries a value cuts it. An unpaired surrogate (\ud800 alone): json-c
 * puts U+FFFD in its place, another string than the one sent. The text
 * was accepted by json-c, whose default mode also takes strings in single
 * quotes. */
static const char *json_bad_escape(const char *s, size_t len)
{
	char q = 0;
	long v, w;

	for (size_t i = 0; i < len; i++) {
		if (q == 0) {
			if (s[i] == '"' || s[i] == '\'')
				q = s[i];
		} else if (s[i] == q) {
			q = 0;
		} else if (s[i] == '\\' && i + 1 < len) {
			i++;
			if ((v = json_u_escape(s + i, len - i)) < 0)
				continue;
			i += 4;
			if (v == 0)
				return "a JSON string of the body holds \\u0000 (a NUL character); it is "
				       "refused, not cut";
			if (v >= 0xdc00 && v <= 0xdfff)
				return "a JSON string of the body holds an unpaired surrogate escape "
				       "(\\udc00-\\udfff); it is not a character";
			if (v >= 0xd800 && v <= 0xdbff) {
				if (i + 2 < len && s[i + 1] == '\\' &&
				    (w = json_u_escape(s + i + 2, len - i - 2)) >= 0xdc00 && w <= 0xdfff) {
					i += 6;
					continue;
				}
				return "a JSON string of the body holds an unpaired surrogate escape "
				       "(\\ud800-\\udbff); it is not a character";
			}
		}
	}
	return NULL;
}

/* Every string (names and values) of the parsed body is valid UTF-8
 * without NUL: json-c turns escapes such as an unpaired \ud800 into bytes
 * that are not UTF-8. Depth is bounded by json-c's own limit. */
static int json_strings_ok(struct json_object *o)
{
	size_t n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		n = (size_t)json_object_get_string_len(o);
		return memchr(json_object_get_string(o), 0, n) == NULL &&
		       utf8_valid_prefix(json_object_get_string(o), n) == n;
	case json_type_array:
		n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			if (!json_strings_ok(json_object_array_get_idx(o, i)))
				return 0;
		return 1;
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			if (utf8_valid_prefix(key, strlen(key)) != strlen(key) || !json_strings_ok(val))
				return 0;
		}
		return 1;
	}
	default:
		return 1;
	}
}

/* Parses the body: an object whose fields are all in the route's list. */
static int parse_body(struct request *r, const char *body, size_t len, struct json_object **in,
		      struct json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	const char *nul, *bad;
	size_t valid;
	char msg[512];

	*in = NULL;
	if (len == 0)
		return 0;
	if (r->route->fields == NULL) {
		*out = routes_error(400, "this request takes no body");
		return 400;
	}
	if (!is_json_type(r->content_type)) {
		snprintf(msg, sizeof(msg), "the request body must be application/json (got %.64s)",
			 r->content_type ? r->content_type : "no Content-Type");
		*out = routes_error(415, msg);
		return 415;
	}
	if (len > INT32_MAX) {
		*out = routes_error(413, "the request body is too large");
		return 413;
	}
	/* JSON is UTF-8 (RFC 8259); names and values end up in the catalog
	 * and in every answer that lists them. */
	if ((nul = memchr(body, 0, len)) != NULL) {
		snprintf(msg, sizeof(msg), "the request body holds a NUL byte at offset %zu",
			 (size_t)(nul - body));
		*out = routes_error(400, msg);
		return 400;
	}
	if ((valid = utf8_valid_prefix(body, len)) != len) {
		snprintf(msg, sizeof(msg), "the request body is not valid UTF-8 (at offset %zu)",
			 valid);
		*out = routes_error(400, msg);
		return 400;
	}
	tok = json_tokener_new();
	*in = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (*in == NULL || jerr != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		if (jerr == json_tokener_success)
			snprintf(msg, sizeof(msg), "malformed JSON: unexpected data after the value "
				 "at offset %zu", json_tokener_get_parse_end(tok));
		else
			snprintf(msg, sizeof(msg), "malformed JSON at offset %zu: %s",
				 json_tokener_get_parse_end(tok),
				 jerr == json_tokener_continue ? "unexpected end of input"
							       : json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		json_object_put(*in);
		*in = NULL;
		*out = routes_error(400, msg);
		return 400;
	}
	json_tokener_free(tok);
	if ((bad = json_bad_escape(body, len)) != NULL || !json_strings_ok(*in)) {
		json_object_put(*in);
		*in = NULL;
		*out = routes_error(400, bad ? bad : "a JSON string of the body is not valid UTF-8 "
				    "once decoded");
		return 400;
	}
	if (!json_object_is_type(*in, json_type_object)) {
		json_object_put(*in);
		*in = NULL;
		*out = routes_error(400, "the request body must be a JSON object");
		return 400;
	}
	json_object_object_foreach(*in, key, val) {
		const char *const *f;

		(void)val;
		for (f = r->route->fields; *f; f++)
			if (strcmp(*f, key) == 0)
				break;
		if (*f == NULL) {
			snprintf(msg, sizeof(msg), "unknown field \"%.64s\" for %s %s", key,
				 r->route->method, r->route->pattern);
			json_object_put(*in);
			*in = NULL;
			*out = routes_error(400, msg);
			return 400;
		}
	}
	return 0;
}

int routes_finish(struct request *r, const char *body, size_t len, struct json_object **out)
{
	struct json_object *in = NULL;
	struct error err;
	int status;

	*out = NULL;
	if ((status = parse_body(r, body, len, &in, out)) != 0)
		return status;
	/* A route that takes a body gets an empty object when none came: the
	 * handlers and the service then see one shape. */
	if (in == NULL && r->route->fields != NULL)
		in = json_object_new_object();
	error_init(&err);
	r->status = 200;
	if (r->route->fn(r, in, out, &err) < 0) {
		status = error_status(&err);
		json_object_put(*out);
		*out = routes_error(status, err.msg[0] ? err.msg : "internal error");
	} else {
		status = r->status;
	}
	json_object_put(in);
	return status;
}

/* ---- helpers ---- */

const char *req_param(const struct request *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

const char *req_query(const struct request *r, const char *name)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (strcmp(r->query[i].name, name) == 0)
			return r->query[i].value ? r->query[i].value : "";
	return NULL;
}

int req_page(const struct request *r, struct svc_page *pg, struct error *err)
{
	const char *l = req_query(r, "limit");
	int64_t v = 100;

	pg->after = req_query(r, "after");
	if (pg->after && pg->after[0] == '\0')
		pg->after = NULL;
	if (l && parse_int_field("limit", l, 1, 1000, &v, err) < 0)
		return -1;
	pg->limit = (int)v;
	return 0;
}

int req_time(const struct request *r, const char *name, int64_t *t_r, struct error *err)
{
	const char *s = req_query(r, name);
	int64_t ns;

	*t_r = 0;
	if (s == NULL)
		return 0;
	/* A day alone as "until" reaches to the end of that day. */
	if (time_parse_field(name, s, strcmp(name, "until") == 0 ? TIME_END_OF_DAY : 0, &ns,
			     err) < 0)
		return -1;
	*t_r = ns / 1000000000;
	return 0;
}

int req_order(const struct request *r, int *desc_r, struct error *err)
{
	const char *s = req_query(r, "order");

	*desc_r = s != NULL && strcmp(s, "desc") == 0;
	if (s != NULL && !*desc_r && strcmp(s, "asc") != 0)
		return error_setk(err, ERROR_USAGE, "order must be asc or desc, not '%.40s'", s);
	return 0;
}

int req_seq(const struct request *r, uint32_t *seq_r, struct error *err)
{
	const char *s = req_param(r, "seq");
	int64_t v;

	if (parse_int_field("restore point number", s, 1, UINT32_MAX, &v, err) < 0)
		return -1;
	*seq_r = (uint32_t)v;
	return 0;
}

int req_str(struct json_object *in, const char *field, const char **v_r, struct error *err)
{
	struct json_object *v;

	*v_r = NULL;
	if (in == NULL || !json_object_object_get_ex(in, field, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return error_setk(err, ERROR_USAGE, "field \"%s\" must be a string", field);
	*v_r = json_object_get_string(v);
	return 0;
}
