/* The API's checks of a request before and around its handler
 * (server/routes.c; docs/api.md "Conventions"), on a real service in a
 * temporary data folder: each bad request gets the documented status and
 * error code, a message that says what is wrong, and changes nothing; the
 * checks come in the documented order, so a client without a token cannot
 * make the server read a body. The transport (http.c: headers, chunked
 * bodies, deadlines) is tests/e2e/api.sh's and hostile.sh's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "lib/mem.h"
#include "server/request.h"
#include "server/web.h"
#include "service/service.h"

#include "harness.h"

#define MAX_BODY 4096

struct vfx {
	struct service *svc;
	char *ga;     /* "Bearer " + a global admin's secret */
	char *ta;     /* "Bearer " + the tenant admin's secret */
	char *tenant; /* the id of tenant "acme" */
	char *tpath;  /* "/v1/tenants/<id>" */
};

/* One request through the route table, as http.c hands it over: 0 or a
 * status from the checks before the body, else the route's answer. *out
 * is the answer's JSON (the caller puts it). */
static int call(struct vfx *f, const char *method, const char *path, const char *auth,
		const char *ctype, const char *body, size_t len, struct json_object **out)
{
	struct request r;
	int status;

	memset(&r, 0, sizeof(r));
	r.svc = f->svc;
	r.method = method;
	r.path = path;
	r.authorization = auth;
	r.content_type = ctype;
	r.content_length = body ? (int64_t)len : -1;
	r.file_fd = -1;
	request_init(&r);
	*out = NULL;
	status = routes_begin(&r, MAX_BODY, out);
	if (status == 0)
		status = routes_finish(&r, body ? body : "", body ? len : 0, out);
	request_clear(&r);
	return status;
}

static int post(struct vfx *f, const char *path, const char *auth, const char *json,
		struct json_object **out)
{
	return call(f, "POST", path, auth, "application/json", json, strlen(json), out);
}

static const char *str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Whether out is {"error":{"code":code,"message":...}} and the message
 * holds `says`; records the failure otherwise. */
static int refused(int status, int want, struct json_object *out, const char *code,
		   const char *says, const char *what)
{
	const char *c = str_at(out, "error", "code"), *m = str_at(out, "error", "message");

	CHECKF(status == want, "%s: status %d, expected %d (%s)", what, status, want,
	       m ? m : json_object_to_json_string(out));
	CHECKF(c && strcmp(c, code) == 0, "%s: code %s, expected %s", what, c ? c : "none", code);
	CHECKF(m && strstr(m, says) != NULL, "%s: message \"%s\" does not say \"%s\"", what,
	       m ? m : "", says);
out:
	return !th_failed();
}

static char *bearer(struct json_object *token)
{
	const char *secret = str_at(token, "secret", NULL);

	return secret ? xasprintf("Bearer %s", secret) : NULL;
}

/* A service with a global admin, tenant "acme" and its admin. */
static int vfx_setup(struct vfx *f)
{
	struct svc_config cfg;
	struct json_object *out = NULL;
	struct error err;
	int status;

	memset(f, 0, sizeof(*f));
	svc_config_defaults(&cfg);
	cfg.data_dir = th_tmpdir("data");
	cfg.max_body = MAX_BODY;
	f->svc = svc_open_flags(&cfg, SVC_OPEN_NO_BOOTSTRAP, &err);
	CHECKF(f->svc != NULL, "svc_open: %s", err.msg);
	CHECK_OK(svc_token_create(f->svc, NULL, NULL, SVC_ROLE_GLOBAL_ADMIN, "ga", NULL, &out,
				  &err), &err);
	f->ga = bearer(out);
	json_object_put(out);
	out = NULL;
	CHECK(f->ga != NULL);
	status = post(f, "/v1/tenants", f->ga, "{\"name\":\"acme\"}", &out);
	CHECKF(status == 201 && str_at(out, "id", NULL), "tenant create: %d", status);
	f->tenant = xstrdup(str_at(out, "id", NULL));
	f->tpath = xasprintf("/v1/tenants/%s", f->tenant);
	json_object_put(out);
	out = NULL;
	{
		char *p = xasprintf("%s/tokens", f->tpath);

		status = post(f, p, f->ga, "{\"name\":\"ta\",\"role\":\"tenantAdmin\"}", &out);
		free(p);
	}
	CHECKF(status == 201, "token create: %d", status);
	f->ta = bearer(out);
	CHECK(f->ta != NULL);
out:
	json_object_put(out);
	return th_failed() ? -1 : 0;
}

static void vfx_clear(struct vfx *f)
{
	svc_close(&f->svc);
	free(f->ga);
	free(f->ta);
	free(f->tenant);
	free(f->tpath);
}

/* How many tenants the global admin sees. */
static int tenant_count(struct vfx *f)
{
	struct json_object *out = NULL, *items;
	int n = -1;

	if (call(f, "GET", "/v1/tenants", f->ga, NULL, NULL, 0, &out) == 200 &&
	    json_object_object_get_ex(out, "items", &items))
		n = (int)json_object_array_length(items);
	json_object_put(out);
	return n;
}

/* Bodies that are not JSON, or not the JSON the route takes: 400
 * bad_request saying what and where, and nothing created. */
static void test_bad_json(void)
{
	static const struct {
		const char *body, *says;
	} cases[] = {
		{ "{\"name\":\"x\"", "malformed JSON at offset" },
		{ "{\"name\" \"x\"}", "malformed JSON at offset" },
		{ "{\"name\":\"x\"} {}", "unexpected data after the value" },
		{ "[\"name\"]", "must be a JSON object" },
		{ "\"acme2\"", "must be a JSON object" },
		{ "{\"name\":\"x\",\"colour\":\"red\"}", "unknown field \"colour\"" },
		{ "{\"name\":\"a\\u0000b\"}", "\\u0000" },
		{ "{\"na\\u0000me\":\"x\"}", "\\u0000" },
		{ "{\"name\":\"\\ud800\"}", "unpaired surrogate" },
		{ "{\"name\":\"\xc3\x28\"}", "not valid UTF-8 (at offset 9)" },
	};
	struct json_object *out = NULL;
	struct vfx f;
	int status;

	if (vfx_setup(&f) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		status = post(&f, "/v1/tenants", f.ga, cases[i].body, &out);
		if (!refused(status, 400, out, "bad_request", cases[i].says, cases[i].body))
			goto out;
		json_object_put(out);
		out = NULL;
	}
	/* A NUL byte in the body. */
	status = call(&f, "POST", "/v1/tenants", f.ga, "application/json", "{\"name\":\"a\0b\"}",
		      14, &out);
	if (!refused(status, 400, out, "bad_request", "NUL byte at offset 10", "NUL"))
		goto out;
	CHECKF(tenant_count(&f) == 1, "%d tenants after refused creates", tenant_count(&f));
out:
	json_object_put(out);
	vfx_clear(&f);
}

/* Fields of the wrong type: 400 naming the field, nothing created. */
static void test_wrong_types(void)
{
	struct json_object *out = NULL;
	char *policies = NULL;
	struct vfx f;
	int status;

	if (vfx_setup(&f) < 0)
		goto out;
	status = post(&f, "/v1/tenants", f.ga, "{\"name\":5}", &out);
	if (!refused(status, 400, out, "bad_request", "name", "tenant name 5"))
		goto out;
	json_object_put(out);
	status = post(&f, "/v1/tenants", f.ga, "{\"name\":[\"acme2\"]}", &out);
	if (!refused(status, 400, out, "bad_request", "name", "tenant name array"))
		goto out;
	json_object_put(out);
	policies = xasprintf("%s/protectionPolicies", f.tpath);
	status = post(&f, policies, f.ta, "{\"name\":\"p\",\"kind\":\"mailbox\","
		      "\"frequencySeconds\":\"hourly\"}", &out);
	if (!refused(status, 400, out, "bad_request", "frequencySeconds", "frequency as text"))
		goto out;
	json_object_put(out);
	status = post(&f, policies, f.ta, "{\"name\":\"p\",\"kind\":\"mailbox\","
		      "\"retentionDays\":1.5}", &out);
	if (!refused(status, 400, out, "bad_request", "retentionDays", "retention 1.5"))
		goto out;
	json_object_put(out);
	out = NULL;
	CHECK(tenant_count(&f) == 1);
	CHECK(call(&f, "GET", policies, f.ta, NULL, NULL, 0, &out) == 200);
	CHECKF(strcmp(json_object_to_json_string_ext(json_object_object_get(out, "items"),
						     JSON_C_TO_STRING_PLAIN), "[]") == 0,
	       "policies after refused creates: %s", json_object_to_json_string(out));
out:
	free(policies);
	json_object_put(out);
	vfx_clear(&f);
}

/* A body larger than max_body is refused by its Content-Length before it
 * is read (413 naming the limit); a body of another type first gets 415,
 * and a client without a valid token 401 whatever its body: the order of
 * docs/api.md, so no one unauthenticated makes the server buffer a body. */
static void test_oversize_and_order(void)
{
	struct json_object *out = NULL;
	char *big = xmalloc(MAX_BODY + 2);
	struct request r;
	struct vfx f;
	int status;

	memset(big, ' ', MAX_BODY + 1);
	big[0] = '{';
	big[MAX_BODY] = '}';
	big[MAX_BODY + 1] = '\0';
	if (vfx_setup(&f) < 0)
		goto out;
	status = post(&f, "/v1/tenants", f.ga, big, &out);
	if (!refused(status, 413, out, "payload_too_large", "limit of 4096", "oversize"))
		goto out;
	json_object_put(out);
	status = call(&f, "POST", "/v1/tenants", f.ga, "text/plain", big, MAX_BODY + 1, &out);
	if (!refused(status, 415, out, "unsupported_media_type", "application/json", "text"))
		goto out;
	json_object_put(out);
	status = post(&f, "/v1/tenants", NULL, big, &out);
	if (!refused(status, 401, out, "unauthenticated", "token", "no token"))
		goto out;
	json_object_put(out);
	status = post(&f, "/v1/tenants", "Bearer cft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		      big, &out);
	if (!refused(status, 401, out, "unauthenticated", "", "unknown token"))
		goto out;
	json_object_put(out);
	/* The tenant admin may not create tenants: 403, not 413. */
	status = post(&f, "/v1/tenants", f.ta, big, &out);
	if (!refused(status, 403, out, "forbidden", "", "tenant admin"))
		goto out;
	json_object_put(out);
	out = NULL;
	/* Before the body, routes_begin() alone says so: http.c reads no byte. */
	memset(&r, 0, sizeof(r));
	r.svc = f.svc;
	r.method = "POST";
	r.path = "/v1/tenants";
	r.content_type = "application/json";
	r.content_length = MAX_BODY + 1;
	r.file_fd = -1;
	request_init(&r);
	status = routes_begin(&r, MAX_BODY, &out);
	request_clear(&r);
	CHECKF(status == 401 && out != NULL, "routes_begin without a token: %d", status);
	CHECK(tenant_count(&f) == 1);
out:
	free(big);
	json_object_put(out);
	vfx_clear(&f);
}

/* A route that takes no body refuses one (400); one that takes a body
 * treats a missing one as {} (the service then names what is required). */
static void test_body_where_none(void)
{
	struct json_object *out = NULL;
	struct vfx f;
	int status;

	if (vfx_setup(&f) < 0)
		goto out;
	status = call(&f, "GET", "/v1/tenants", f.ga, "application/json", "{}", 2, &out);
	if (!refused(status, 400, out, "bad_request", "takes no request body", "GET with body"))
		goto out;
	json_object_put(out);
	status = call(&f, "POST", "/v1/tenants", f.ga, NULL, NULL, 0, &out);
	if (!refused(status, 400, out, "bad_request", "'name' is required", "no body"))
		goto out;
	json_object_put(out);
	status = call(&f, "PUT", "/v1/tenants", f.ga, NULL, NULL, 0, &out);
	if (!refused(status, 405, out, "method_not_allowed", "GET, POST", "PUT"))
		goto out;
out:
	json_object_put(out);
	vfx_clear(&f);
}

/* Writes ROOT/REL holding TEXT; 0 or -1. */
static int put_file(const char *root, const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", root, rel);
	FILE *fp = fopen(p, "w");
	int rc = fp && fputs(text, fp) >= 0 ? 0 : -1;

	if (fp && fclose(fp) != 0)
		rc = -1;
	free(p);
	return rc;
}

/* The console's files (server/web.c): from a web_root, only plain paths
 * inside it, never through a link at the end, with a strong ETag that
 * follows the content; the page itself is "/". */
static void test_console_files(void)
{
	const char *root = th_tmpdir("web");
	char *sub = xasprintf("%s/sub", root), *target = xasprintf("%s/sub/a.js", root);
	char *link = xasprintf("%s/link.js", root);
	struct web_file f = { 0 };
	char etag[40];
	static const char *const refused[] = {
		"/ui/../index.html", "/ui/sub/../sub/a.js", "/ui/.hidden.js", "/ui/sub//a.js",
		"/ui/link.js", "/ui/a.exe", "/ui/sub", "/ui/", "/ui/a%2fb.js", "/v1/health",
	};

	CHECK(mkdir(sub, 0700) == 0);
	CHECK(put_file(root, "index.html", "<!doctype html>") == 0);
	CHECK(put_file(root, "sub/a.js", "export {}") == 0);
	CHECK(put_file(root, ".hidden.js", "x") == 0);
	CHECK(symlink(target, link) == 0);

	CHECK(web_is_console("/") && web_is_console("/ui/app.js") && !web_is_console("/v1/x"));
	CHECK(web_lookup(root, "/", &f) == 0 && f.len == 15 &&
	      strcmp(f.content_type, "text/html; charset=utf-8") == 0);
	web_file_clear(&f);
	CHECK(web_lookup(root, "/ui/sub/a.js", &f) == 0 && f.len == 9 &&
	      strncmp(f.content_type, "text/javascript", 15) == 0 && f.etag[0] == '"');
	snprintf(etag, sizeof(etag), "%s", f.etag);
	web_file_clear(&f);
	CHECK(put_file(root, "sub/a.js", "export {};") == 0);
	CHECK(web_lookup(root, "/ui/sub/a.js", &f) == 0 && strcmp(f.etag, etag) != 0);
	web_file_clear(&f);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECKF(web_lookup(root, refused[i], &f) == 404, "%s is not refused", refused[i]);
	CHECK(web_lookup(NULL, "/ui/no-such-file.js", &f) == 404);
out:
	web_file_clear(&f);
	free(sub);
	free(target);
	free(link);
}

const struct unit_test server_tests[] = {
	{ "server: bad JSON bodies get 400 saying what and where, nothing stored", test_bad_json },
	{ "server: fields of the wrong type get 400 naming the field", test_wrong_types },
	{ "server: an oversize body gets 413 before it is read, after 401/403/415",
	  test_oversize_and_order },
	{ "server: a body where none is taken, none where one is", test_body_where_none },
	{ "server: the console's files: only plain paths inside web_root, no link, a fresh ETag",
	  test_console_files },
	{ NULL, NULL },
};
